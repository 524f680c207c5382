"""The greeter toy: provides the contract ``greeter.Greeter`` and answers under ``/api/greeter`` and
``/ws/greeter`` (a WebSocket echo, so the gateway tests have an upgrade to route)."""

from __future__ import annotations

import os
from collections import Counter

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.plugins.greeter_contract import Greeter, Greeting, GreetRequest
from wealist_core import NotFound, PluginManifest, Settings, hookimpl
from wealist_core.container import Container
from wealist_core.http.routing import ApiRoute

__all__ = ["GreeterPlugin", "GreeterService"]

KNOWN = ("ada", "grace", "linus")


class GreeterService:
    """The implementation of :class:`Greeter` (it satisfies the Protocol structurally)."""

    def __init__(self) -> None:
        self.greeted: Counter[str] = Counter()

    async def greet(self, request: GreetRequest) -> Greeting:
        if request.name not in KNOWN:
            raise NotFound(f"No one called {request.name!r} is known here.", code="GREETEE_UNKNOWN")
        self.greeted[request.name] += 1
        mark = "!" if request.excited else "."
        return Greeting(text=f"Hello, {request.name}{mark}", name=request.name, pid=os.getpid())

    async def known(self, prefix: str = "") -> list[str]:
        return [name for name in KNOWN if name.startswith(prefix)]

    async def count(self, name: str) -> int:
        return self.greeted[name]


class GreeterPlugin:
    """Provides ``greeter.Greeter``; its HTTP routes call the same service."""

    def __init__(self) -> None:
        self.service = GreeterService()

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="greeter",
            version="1.0.0",
            description="Greets people it knows.",
            prefixes=("/api/greeter", "/ws/greeter"),
            provides=("greeter.Greeter",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        container.contracts.provide(Greeter, self.service)

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        service = self.service

        async def hello(name: str) -> Greeting:
            """Greet someone the greeter knows."""
            return await service.greet(GreetRequest(name=name))

        async def echo(websocket: WebSocket) -> None:
            await websocket.accept()
            try:
                while True:
                    text = await websocket.receive_text()
                    await websocket.send_json({"echo": text, "pid": os.getpid()})
            except WebSocketDisconnect:
                pass

        return [
            ApiRoute("/api/greeter/hello/{name}", hello, auth=False, response=Greeting),
            WebSocketRoute("/ws/greeter/echo", echo, name="greeter_echo"),
        ]
