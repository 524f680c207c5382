"""Real sockets for the chat tests: the application served by uvicorn on a loopback port, and a client
that reads frames with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from wealist_core.testing import token_for

WAIT = 10.0  # seconds any one frame may take; far more than it needs


class Client:
    """One socket of a test: frames in the order they arrive, each awaited with a deadline."""

    def __init__(self, ws: ClientConnection, user: uuid.UUID) -> None:
        self.ws = ws
        self.user = user

    async def send(self, type_: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": type_, **fields}))

    async def recv(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            frame: dict[str, Any] = json.loads(await self.ws.recv())
        return frame

    async def expect(self, type_: str, skip: tuple[str, ...] = ("USER_STATUS",)) -> dict[str, Any]:
        """The next frame, which must be of ``type_`` (presence changes of others are skipped)."""
        while True:
            frame = await self.recv()
            if frame["type"] in skip and type_ not in skip:
                continue
            assert frame["type"] == type_, frame
            return frame

    async def ask(self, type_: str, **fields: Any) -> dict[str, Any]:
        await self.send(type_, **fields)
        return await self.expect_any()

    async def expect_any(self) -> dict[str, Any]:
        while True:
            frame = await self.recv()
            if frame["type"] != "USER_STATUS":
                return frame

    async def synced(self) -> list[dict[str, Any]]:
        """Every frame sent to this socket before now has arrived: what came before the PONG."""
        await self.send("PING")
        before = []
        while (frame := await self.recv())["type"] != "PONG":
            before.append(frame)
        return before

    async def closed_with(self) -> int:
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(WAIT):
                while True:
                    await self.ws.recv()
        assert self.ws.close_code is not None
        return self.ws.close_code


@contextlib.asynccontextmanager
async def signed_in(
    base: str, user: uuid.UUID, *, subscribe: bool = True, **options: Any
) -> AsyncIterator[Client]:
    url = base.replace("http://", "ws://") + "/ws/chat"
    async with connect(url, open_timeout=WAIT, close_timeout=1, **options) as ws:
        client = Client(ws, user)
        await client.send("AUTH", token=token_for(user))
        assert await client.expect("READY") == {"type": "READY", "userId": str(user)}
        if subscribe:
            assert (await client.ask("SUBSCRIBE"))["type"] == "SUBSCRIBED"
        yield client
