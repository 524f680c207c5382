"""Fixtures of the board plugin's tests: the plugin beside an in-memory user Directory.

Tests run on the embedded defaults (SQLite, ``memory://``) unless marked ``on_both_backends``, which adds
PostgreSQL + Redis.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from wealist_plugins.board.plugin import BoardPlugin
from wealist_plugins.user.contract import Role
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from wealist_core.testing import headers_for


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory()


@pytest.fixture
def wealist_plugins(directory: InMemoryDirectory) -> list[object]:
    return [InMemoryUserPlugin(directory), BoardPlugin]


@dataclass
class Team:
    client: httpx.AsyncClient
    workspace: uuid.UUID
    ada: uuid.UUID  # workspace owner, creates the project (its OWNER)
    bob: uuid.UUID  # workspace member, project MEMBER
    cy: uuid.UUID  # workspace member, not in the project
    stranger: uuid.UUID  # in another workspace
    project: dict[str, Any]
    board: dict[str, Any]

    def h(self, who: uuid.UUID) -> dict[str, str]:
        return headers_for(who)

    @property
    def columns(self) -> list[dict[str, Any]]:
        return self.board["columns"]

    async def task(
        self, title: str = "Write the spec", by: uuid.UUID | None = None, **body: Any
    ) -> dict[str, Any]:
        answer = await self.client.post(
            f"/api/boards/{self.board['boardId']}/tasks",
            json={"title": title, **body},
            headers=self.h(by or self.ada),
        )
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture
async def team(wealist_client: httpx.AsyncClient, directory: InMemoryDirectory) -> Team:
    ada, bob, cy, stranger = (directory.add_user(n).user_id for n in ("Ada", "Bob", "Cy", "Eve"))
    space = directory.add_workspace(ada, "Apollo", members=[bob, cy])
    directory.add_workspace(stranger, "Elsewhere")
    answer = await wealist_client.post(
        "/api/boards/projects", json={"workspaceId": str(space), "name": "Launch"}, headers=headers_for(ada)
    )
    assert answer.status_code == 201, answer.text
    project = answer.json()
    added = await wealist_client.post(
        f"/api/boards/projects/{project['projectId']}/members",
        json={"userId": str(bob), "role": "MEMBER"},
        headers=headers_for(ada),
    )
    assert added.status_code == 201, added.text
    board = (
        await wealist_client.get(f"/api/boards/{project['defaultBoardId']}", headers=headers_for(ada))
    ).json()
    return Team(wealist_client, space, ada, bob, cy, stranger, project, board)


__all__ = ["Role", "Team"]
