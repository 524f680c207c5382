"""The two servers of the socket benchmark (``sockets.py``), each broadcasting ``TICK`` frames to its sockets.

- ``sockets_host``: the Wealist host with a plugin on the real-time toolkit: ``/ws/bench`` (AUTH with a
  ``test:<uuid>`` token; every socket follows the topic ``bench:all``) and ``POST /api/bench/broadcast``,
  which publishes the body as a ``TICK`` frame to the topic through the hub (``memory://`` pub/sub, one
  process), as a plugin's service publishes after a commit.
- ``sockets_bare``: Starlette alone: ``/ws/bench`` keeps its sockets in a set, and
  ``POST /api/bench/broadcast`` sends the same frame to each of them in turn, the broadcast everyone writes
  first.

Both answer the client's first frame with ``READY`` once the socket receives broadcasts, and send the same
text: ``{"type":"TICK","seq":...,"sentAt":...,"pad":"..."}``.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from wealist_core import PluginManifest, Principal, Settings, hookimpl
from wealist_core.container import Container
from wealist_core.http import ApiModel, ApiRoute
from wealist_core.realtime import Channel, Connection, Hub, hub_of

TOPIC = "bench:all"
PLUGIN = "bench_sockets"


class Tick(ApiModel):
    """A broadcast: its number, when the client sent it (the client's clock), and padding."""

    seq: int
    sent_at: float
    pad: str


class BenchSocket(Channel):
    """Every socket follows one topic."""

    path = "/ws/bench"

    async def authorize(self, principal: Principal, topic: str) -> bool:
        return topic == TOPIC

    async def on_connect(self, conn: Connection) -> None:
        await conn.subscribe(TOPIC)


class SocketBenchPlugin:
    """The socket and the route that publishes to it."""

    def __init__(self) -> None:
        self.hub: Hub | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name=PLUGIN, prefixes=("/ws/bench", "/api/bench"), ports=("pubsub",))

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.hub = hub_of(container, PLUGIN)

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        hub = self.hub
        assert hub is not None

        async def broadcast(body: Tick) -> None:
            """Publish a TICK to every socket."""
            await hub.publish(TOPIC, "TICK", body)

        return [
            BenchSocket().route(),
            ApiRoute("/api/bench/broadcast", broadcast, methods=["POST"], auth=False),
        ]


def host_app() -> Any:
    from wealist_core.app import create_app
    from wealist_core.observability import configure_logging
    from wealist_core.testing import TestAuthPlugin, installed_adapters

    # Only these plugins, as in _servers.host_app; the adapters installed (memory:// for pub/sub).
    settings = Settings.load(autoload=False)
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, plugins=[SocketBenchPlugin, TestAuthPlugin], adapters=installed_adapters())


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()  # the AUTH frame, not checked
        sockets.add(websocket)
        try:
            await websocket.send_text('{"type":"READY"}')
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sockets.discard(websocket)

    async def broadcast(request: Request) -> Response:
        body = (await request.body()).decode()
        text = '{"type":"TICK",' + body[1:]
        for websocket in list(sockets):
            try:
                await websocket.send_text(text)
            except Exception:  # a socket closing meanwhile
                sockets.discard(websocket)
        return Response(status_code=204)

    async def live(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            WebSocketRoute("/ws/bench", socket),
            Route("/api/bench/broadcast", broadcast, methods=["POST"]),
            Route("/health/live", live, methods=["GET"]),
        ]
    )
