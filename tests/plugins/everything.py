"""The everything toy: implements every hook of :mod:`wealist_core.hookspecs`, each with a visible effect.

``tests/core/test_everything.py`` checks that each one took effect:

- manifest: prefixes ``/api/everything`` and ``/ws/everything``, ports database and keyvalue;
- adapters: ``everything://`` serves the keyvalue port (``WEALIST_EVERYTHING__KEYVALUE_URL=everything://``);
- configure: keeps the container and its option ``WEALIST_EVERYTHING__GREETING``;
- models: the table ``everything_note`` (created at start, with the plugin's outbox);
- routes: HTTP routes and a WebSocket that authenticates its first frame;
- middleware: every HTTP response carries ``X-Everything: stamped``;
- subscriptions: ``everything.note_added`` events, emitted through a unit of work, are recorded;
- lifespan: ``entered`` / ``exited``;
- authenticate: ``Authorization: Bearer everything:<user id>`` is that user;
- health checks: ``everything`` in ``/health/ready``, failing while ``healthy`` is False;
- commands: ``wealist everything-hello --name NAME``;
- jobs: ``everything.tick`` (hourly) counts its runs in ``ticks``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from wealist_adapters.memory.keyvalue import MemoryKeyValue

from wealist_core import (
    AdapterContext,
    AdapterSpec,
    Event,
    Job,
    JobContext,
    ModelRegistration,
    PluginManifest,
    Principal,
    Settings,
    Unauthorized,
    hookimpl,
)
from wealist_core._types import ASGIApp, Message, Receive, Scope, Send
from wealist_core.container import Container
from wealist_core.http.models import ApiModel
from wealist_core.http.routing import ApiRoute
from wealist_core.testing import bearer_credential
from wealist_core.websocket import authenticate_websocket

__all__ = ["EverythingKeyValue", "EverythingPlugin", "StampMiddleware"]

METADATA = MetaData()
NOTES = Table(
    "everything_note",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", String(200), nullable=False),
)
TOKEN_PREFIX = "everything:"


class EverythingKeyValue(MemoryKeyValue):
    """The toy adapter behind ``everything://``: the memory store under another name, so a test can tell."""

    @classmethod
    def from_context(cls, context: AdapterContext) -> EverythingKeyValue:
        return cls()


class StampMiddleware:
    """Adds ``X-Everything: <value>`` to every HTTP response."""

    def __init__(self, app: ASGIApp, value: str) -> None:
        self.app = app
        self.header = (b"x-everything", value.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, stamped)


class State(ApiModel):
    configured: bool
    greeting: str
    entered: bool
    keyvalue: str
    visits: int


class NoteIn(ApiModel):
    text: str


class NoteOut(ApiModel):
    id: int
    text: str


class Me(ApiModel):
    id: str
    kind: str


class EverythingPlugin:
    """Every hook, each observable through HTTP, the CLI or the attributes below."""

    def __init__(self) -> None:
        self.container: Container | None = None
        self.greeting = ""
        self.entered = False
        self.exited = False
        self.healthy = True
        self.received: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()  # set on every event received
        self.ticks = 0

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="everything",
            version="1.0.0",
            description="Implements every hook.",
            prefixes=("/api/everything", "/ws/everything"),
            ports=("database", "keyvalue"),
            publishes=("everything.note_added",),
            consumes=("everything.note_added",),
        )

    @hookimpl
    def wealist_register_adapters(self) -> list[AdapterSpec]:
        return [
            AdapterSpec("keyvalue", ("everything",), EverythingKeyValue.from_context, "EverythingKeyValue")
        ]

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.container = container
        self.greeting = str(settings.for_plugin("everything").option("greeting", "hello"))

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("everything", METADATA)]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return [
            ApiRoute("/api/everything/state", self._state, auth=False, response=State),
            ApiRoute("/api/everything/me", self._me, response=Me),
            ApiRoute(
                "/api/everything/notes",
                self._add_note,
                methods=("POST",),
                body=NoteIn,
                response=NoteOut,
                status_code=201,
                auth=False,
            ),
            WebSocketRoute("/ws/everything/echo", self._echo, name="everything_echo"),
        ]

    @hookimpl
    def wealist_register_middleware(self) -> list[Middleware]:
        return [Middleware(StampMiddleware, value="stamped")]

    @hookimpl
    def wealist_register_subscriptions(self) -> list[tuple[str, Callable[[Event], Awaitable[None]]]]:
        return [("everything.note_added", self._on_note_added)]

    @hookimpl
    def wealist_lifespan(self, app: Starlette) -> contextlib.AbstractAsyncContextManager[None]:
        return self._lifespan()

    @hookimpl
    def wealist_authenticate(self, request: HTTPConnection) -> Principal | None:
        # The hook stays here because this toy implements every hook; reading the header is the toolkit's.
        user = bearer_credential(request, TOKEN_PREFIX)
        if user is None:
            return None  # not ours: another plugin may know the credential
        if not user:
            raise Unauthorized("An everything token names its user.", code="EVERYTHING_TOKEN_INVALID")
        return Principal(id=user)

    @hookimpl
    def wealist_health_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {"everything": self._check}

    @hookimpl
    def wealist_register_commands(self, cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = cli.add_parser("everything-hello", help="greet from the everything toy")
        parser.add_argument("--name", default="world")
        parser.set_defaults(func=self._hello)

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        return [Job("tick", self._tick, every=3600, description="counts its runs")]

    # ------------------------------------------------------------------------------------- behaviour

    def _container(self) -> Container:
        assert self.container is not None, "wealist_configure was not called"
        return self.container

    async def _state(self) -> State:
        store = self._container().keyvalue("everything")
        return State(
            configured=self.container is not None,
            greeting=self.greeting,
            entered=self.entered,
            keyvalue=type(store).__name__,
            visits=await store.incr("visits"),
        )

    async def _me(self, principal: Principal) -> Me:
        return Me(id=principal.id, kind=principal.kind)

    async def _add_note(self, body: NoteIn) -> NoteOut:
        database = self._container().database("everything")
        async with database.unit_of_work(plugin="everything") as uow:
            result = await uow.session.execute(insert(NOTES).values(text=body.text).returning(NOTES.c.id))
            note_id = int(result.scalar_one())
            uow.emit("everything.note_added", {"id": note_id, "text": body.text})
        return NoteOut(id=note_id, text=body.text)

    async def _echo(self, websocket: WebSocket) -> None:
        principal = await authenticate_websocket(websocket)
        if principal is None:
            return
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_json({"echo": text, "userId": principal.id})
        except WebSocketDisconnect:
            pass

    async def _on_note_added(self, event: Event) -> None:
        self.received.append({"type": event.type, **event.payload})
        self.arrived.set()

    @contextlib.asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        self.entered = True
        try:
            yield
        finally:
            self.exited = True

    async def _check(self) -> None:
        if not self.healthy:
            raise RuntimeError("the everything toy was told to be unwell")

    async def _tick(self, ctx: JobContext) -> None:
        self.ticks += 1

    def _hello(self, args: argparse.Namespace) -> int:
        print(f"hello {args.name} from everything")
        return 0
