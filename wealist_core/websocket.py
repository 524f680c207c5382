"""WebSocket authentication for the real-time plugins: the first frame carries the token.

A token never appears in a URL (URLs end up in access logs and browser history). The client's first frame
is ``{"type": "AUTH", "token": "<access token>"}``; the server answers ``{"type": "READY", "userId": ...}``
or closes with code 4401. The token is checked by the same ``wealist_authenticate`` hook as HTTP requests.

Sockets built on :mod:`wealist_core.realtime` get this for free; a hand-written socket calls
:func:`authenticate_websocket` first.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket, WebSocketDisconnect

from wealist_core.errors import Unauthorized
from wealist_core.security import Principal

__all__ = ["CLOSE_UNAUTHORIZED", "authenticate_websocket", "send_error"]

CLOSE_UNAUTHORIZED = 4401


async def send_error(websocket: WebSocket, code: str, message: str) -> None:
    await websocket.send_json({"type": "ERROR", "code": code, "message": message})


async def authenticate_websocket(
    websocket: WebSocket, *, timeout: float = 10.0, ready: bool = True
) -> Principal | None:
    """Accept the socket, read the AUTH frame and authenticate it; None after closing with 4401.

    ``ready=False`` leaves the READY frame to the caller (the real-time toolkit sends it once the socket
    follows its first topics, so that READY means "from now on you receive what is published")."""
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), timeout)
        frame: Any = json.loads(raw)
    except (TimeoutError, ValueError, KeyError):
        await websocket.close(CLOSE_UNAUTHORIZED, 'Send {"type": "AUTH", "token": ...} first.')
        return None
    except WebSocketDisconnect:
        return None
    token = frame.get("token") if isinstance(frame, dict) and frame.get("type") == "AUTH" else None
    if not isinstance(token, str) or not token:
        await websocket.close(CLOSE_UNAUTHORIZED, "The first frame must be AUTH with a token.")
        return None
    scope = dict(websocket.scope)
    scope["type"] = "http"
    scope["headers"] = [
        *(h for h in websocket.scope.get("headers", ()) if h[0] != b"authorization"),
        (b"authorization", f"Bearer {token}".encode("latin-1", "replace")),
    ]
    principal: Principal | None
    try:
        principal = await websocket.app.state.wealist.authenticate(HTTPConnection(scope))
    except Unauthorized:
        principal = None
    if principal is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "The token is invalid or expired.")
        return None
    websocket.scope["wealist.principal"] = principal
    if ready:
        await websocket.send_json({"type": "READY", "userId": principal.id})
    return principal
