"""Fixtures of the chat plugin's tests: the plugin beside an in-memory user Directory.

Tests run on the embedded defaults (SQLite, ``memory://``) unless marked ``on_both_backends``, which adds
PostgreSQL + Redis.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from wealist_plugins.chat.plugin import ChatPlugin
from wealist_plugins.user.contract import Role
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from wealist_core.testing import headers_for


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory()


@pytest.fixture
def wealist_plugins(directory: InMemoryDirectory) -> list[object]:
    return [InMemoryUserPlugin(directory), ChatPlugin]


@dataclass
class Team:
    """A workspace with an owner (an admin), three members and a stranger from another workspace."""

    workspace: uuid.UUID
    elsewhere: uuid.UUID
    owner: Any
    ada: Any
    bob: Any
    cy: Any
    stranger: Any

    def h(self, who: Any) -> dict[str, str]:
        return headers_for(who.user_id)

    def id(self, who: Any) -> str:
        return str(who.user_id)


@pytest.fixture
def team(directory: InMemoryDirectory) -> Team:
    owner, ada, bob, cy, stranger = (directory.add_user(n) for n in ("Olga", "Ada", "Bob", "Cy", "Sam"))
    space = directory.add_workspace(owner.user_id, members=[bob.user_id, cy.user_id])
    directory.add_member(space, ada.user_id, Role.MEMBER, nickname="에이다")
    elsewhere = directory.add_workspace(stranger.user_id, name="Elsewhere")
    return Team(space, elsewhere, owner, ada, bob, cy, stranger)


async def create_chat(
    client: httpx.AsyncClient, team: Team, who: Any, status: int = 201, **body: Any
) -> dict:
    body.setdefault("workspaceId", str(team.workspace))
    answer = await client.post("/api/chats", json=body, headers=team.h(who))
    assert answer.status_code == status, answer.text
    return answer.json()


async def group(client: httpx.AsyncClient, team: Team, *members: Any, name: str = "Launch") -> dict:
    return await create_chat(
        client, team, team.ada, type="GROUP", name=name, participantIds=[team.id(m) for m in members]
    )


async def send(
    client: httpx.AsyncClient, team: Team, who: Any, chat: dict, content: str, **more: Any
) -> dict:
    answer = await client.post(
        f"/api/chats/{chat['chatId']}/messages", json={"content": content, **more}, headers=team.h(who)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()
