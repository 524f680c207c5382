"""``/ws/notifications`` over real sockets: stored then pushed to every open socket, RESUME replays."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.noti.conftest import EventSource, Team, wait_for_notifications
from tests.noti.test_notifications import assigned
from tests.support.processes import serving
from wealist_core import Settings
from wealist_core.testing import build_app, on_both_backends, token_for

WAIT = 10.0


@pytest.fixture
async def served(wealist_settings: Settings, wealist_plugins: Sequence[object]) -> AsyncIterator[str]:
    app = build_app(wealist_settings, wealist_plugins, record=False)
    async with serving(app) as url:
        yield url


async def expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if frame["type"] == kind:
            return dict(frame)


async def open_socket(base: str, user: uuid.UUID) -> ClientConnection:
    ws = await connect(base.replace("http", "ws") + "/ws/notifications")
    await ws.send(json.dumps({"type": "AUTH", "token": token_for(user)}))
    assert json.loads(await ws.recv()) == {"type": "READY", "userId": str(user)}
    return ws


@on_both_backends
async def test_every_socket_of_the_recipient_gets_it_and_a_reconnect_resumes(
    served: str, team: Team, source: EventSource, wealist_plugins: Sequence[object]
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=WAIT) as http:
        tab1, tab2 = await open_socket(served, team.ada.user_id), await open_socket(served, team.ada.user_id)
        bob = await open_socket(served, team.bob.user_id)
        await source.emit(assigned(team, team.ada, team.owner, "first"))
        await wait_for_notifications(http, team.ada, 1)
        for ws in (tab1, tab2):
            pushed = await expect(ws, "NOTIFICATION")
            assert pushed["notification"]["resource"]["name"] == "first"
            assert (await expect(ws, "UNREAD_COUNT"))["count"] == 1
        first_id = pushed["notification"]["notificationId"]
        await tab2.close()
        await source.emit(assigned(team, team.ada, team.owner, "second"))
        await source.emit(assigned(team, team.ada, team.owner, "third"))
        await wait_for_notifications(http, team.ada, 3)
        tab2 = await open_socket(served, team.ada.user_id)
        await tab2.send(json.dumps({"type": "RESUME", "afterId": first_id}))
        names = [(await expect(tab2, "NOTIFICATION"))["notification"]["resource"]["name"] for _ in range(2)]
        assert names == ["second", "third"]
        assert (await expect(tab2, "UNREAD_COUNT"))["count"] == 3
        # A resume from an id that is not mine is refused, and the socket stays usable.
        await tab2.send(json.dumps({"type": "RESUME", "afterId": str(uuid.uuid4())}))
        assert (await expect(tab2, "ERROR"))["code"] == "NOTIFICATION_NOT_FOUND"
        await tab2.send(json.dumps({"type": "PING"}))
        await expect(tab2, "PONG")
        # Bob heard nothing of Ada's.
        await bob.send(json.dumps({"type": "PING"}))
        assert json.loads(await asyncio.wait_for(bob.recv(), WAIT)) == {"type": "PONG"}
        for ws in (tab1, tab2, bob):
            await ws.close()
