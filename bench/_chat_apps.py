"""The two servers of the chat fan-out benchmark (``chat.py``).

- ``host``: the whole chat plugin on the embedded defaults (SQLite, ``memory://``), beside an in-memory user
  directory holding ``BENCH_CHAT_USERS`` members of one workspace (its id written to ``BENCH_CHAT_INFO``),
  and the test authenticator (``test:<uuid>`` tokens). A message is ``POST /api/chats/{chatId}/messages``:
  stored (sequence, row, outbox event), then published to the room and fanned out to every socket.
- ``bare``: Starlette alone: ``/ws/chat`` keeps its sockets in a set, and ``POST /api/bench/send`` sends the
  request's body (the same ``MESSAGE_RECEIVED`` text the host sends) to each of them in turn.

    python bench/_chat_apps.py host|bare --port N [--cpu C]
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from pathlib import Path
from typing import Any


def user_id(index: int) -> uuid.UUID:
    """The same ids in the server and the clients: user 0 sends, users 1..N hold the sockets."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"wealist-bench-chat-{index}")


def host_app() -> Any:
    from wealist_plugins.chat.plugin import ChatPlugin
    from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

    from wealist_core import Settings
    from wealist_core.app import create_app
    from wealist_core.observability import configure_logging
    from wealist_core.testing import TestAuthPlugin, installed_adapters

    users = int(os.environ["BENCH_CHAT_USERS"])
    directory = InMemoryDirectory()
    for index in range(users + 1):
        directory.add_user(f"User {index}", user_id=user_id(index))
    workspace = directory.add_workspace(
        user_id(0), name="Bench", members=[user_id(i) for i in range(1, users + 1)]
    )
    Path(os.environ["BENCH_CHAT_INFO"]).write_text(json.dumps({"workspaceId": str(workspace)}))
    settings = Settings.load(autoload=False)
    configure_logging(settings.log_level, settings.log_format)
    plugins = [InMemoryUserPlugin(directory), ChatPlugin, TestAuthPlugin]
    return create_app(settings, plugins=plugins, adapters=installed_adapters())


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

    async def send(request: Request) -> Response:
        text = (await request.body()).decode()
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
            WebSocketRoute("/ws/chat", socket),
            Route("/api/bench/send", send, methods=["POST"]),
            Route("/health/live", live, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=("host", "bare"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int)
    args = parser.parse_args()
    import uvicorn
    from _servers import uvicorn_options

    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    app = host_app() if args.app == "host" else bare_app()
    profile = os.environ.get("BENCH_CHAT_PROFILE")  # a file: where the host's cProfile statistics go
    if profile and args.app == "host":
        import cProfile
        import signal

        profiler = cProfile.Profile()
        signal.signal(signal.SIGUSR1, lambda *_: profiler.dump_stats(profile))  # chat.py asks before stopping
        profiler.enable()
        uvicorn.run(app, port=args.port, **uvicorn_options())
    else:
        uvicorn.run(app, port=args.port, **uvicorn_options())


if __name__ == "__main__":
    main()
