"""The whoami toy: routes that only say who the caller is, for testing authentication from any process.

``GET /api/whoami`` answers the principal (401 without one); ``/ws/whoami`` authenticates its first frame
with :func:`wealist_core.websocket.authenticate_websocket` and then echoes.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from wealist_core import PluginManifest, Principal, hookimpl
from wealist_core.http import ApiModel, ApiRoute
from wealist_core.websocket import authenticate_websocket

__all__ = ["WhoAmI", "WhoAmIPlugin"]


class WhoAmI(ApiModel):
    user_id: str
    session_id: str | None
    token_id: str | None


async def whoami(principal: Principal) -> WhoAmI:
    return WhoAmI(user_id=principal.id, session_id=principal.session_id, token_id=principal.token_id)


async def whoami_socket(websocket: WebSocket) -> None:
    principal = await authenticate_websocket(websocket, timeout=5.0)
    if principal is None:
        return
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_json({"echo": text, "userId": principal.id})
    except WebSocketDisconnect:
        pass


class WhoAmIPlugin:
    """Answers who the caller is, over HTTP and WebSocket."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="whoami", prefixes=("/api/whoami", "/ws/whoami"))

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return [
            ApiRoute("/api/whoami", whoami, response=WhoAmI),
            WebSocketRoute("/ws/whoami", whoami_socket, name="whoami_socket"),
        ]
