"""Fixtures of the video plugin's tests: the plugin beside an in-memory user Directory, on a LiveKit test
server that speaks RoomService's and Egress's real protocol (see ``fake_livekit``).

Tests run on the embedded defaults (SQLite, ``memory://``) unless marked ``on_both_backends``, which adds
PostgreSQL + Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from wealist_plugins.user.contract import Role
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin
from wealist_plugins.video.plugin import VideoPlugin

from tests.support.processes import free_port, serving
from tests.video.fake_livekit import FakeLiveKit
from wealist_core import Settings
from wealist_core.testing import headers_for, with_options

TURN_SECRET = "turn-shared-secret-for-tests"


@dataclass
class LiveKitServer:
    fake: FakeLiveKit
    base: str

    @property
    def media_url(self) -> str:
        host = self.base.removeprefix("http://")
        return f"livekit://{self.fake.api_key}:{self.fake.api_secret}@{host}?egress=true"


@pytest.fixture
async def livekit() -> AsyncIterator[LiveKitServer]:
    fake = FakeLiveKit()
    async with serving(fake.app(), port=free_port()) as base:
        yield LiveKitServer(fake, base)


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory()


@pytest.fixture
def wealist_plugins(directory: InMemoryDirectory) -> list[object]:
    return [InMemoryUserPlugin(directory), VideoPlugin]


@pytest.fixture
def wealist_settings(wealist_settings_factory: Callable[..., Settings], livekit: LiveKitServer) -> Settings:
    return with_options(
        wealist_settings_factory(media_url=livekit.media_url),
        "video",
        stun_urls="stun:turn.example.com:3478",
        turn_urls="turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349?transport=tcp",
        turn_secret=TURN_SECRET,
        max_capacity=20,
        seat_hold=60,
    )


@dataclass
class Team:
    """A workspace with an owner (an admin), two members and a stranger from another workspace."""

    workspace: object
    owner: object
    ada: object
    bob: object
    stranger: object

    @property
    def rooms_path(self) -> str:
        return f"/api/video/rooms?workspaceId={self.workspace}"

    @property
    def history_path(self) -> str:
        return f"/api/video/history?workspaceId={self.workspace}"

    def h(self, who: object) -> dict[str, str]:
        return headers_for(who.user_id)  # type: ignore[attr-defined]


@pytest.fixture
def team(directory: InMemoryDirectory) -> Team:
    owner, ada, bob, stranger = (directory.add_user(n) for n in ("Olga", "Ada", "Bob", "Sam"))
    space = directory.add_workspace(owner.user_id, members=[bob.user_id])
    directory.add_member(space, ada.user_id, Role.MEMBER, nickname="에이다")
    directory.add_workspace(stranger.user_id, name="Elsewhere")
    return Team(space, owner, ada, bob, stranger)


async def create_room(client: httpx.AsyncClient, team: Team, who: object = None, **body: object) -> dict:
    answer = await client.post(
        "/api/video/rooms",
        json={"workspaceId": str(team.workspace), "name": "Stand-up", **body},
        headers=team.h(who or team.ada),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()
