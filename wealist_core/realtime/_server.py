"""The uvicorn server ``wealist serve`` runs: a drain on SIGTERM that loses no request in flight.

Told to stop (SIGTERM, SIGINT), :class:`SocketAwareServer`:

1. stops accepting connections;
2. closes the application's sockets with 1001 (going away), after sending what their queues hold (uvicorn's
   own shutdown would close them with 1012, and too late for the toolkit's goodbye);
3. lets every request under way finish, its answer carrying ``Connection: close``; a keep-alive connection
   that is idle is closed only once it has stayed idle for :data:`IDLE_WINDOW` seconds, so a request a
   client sent on it just as the signal came is answered rather than cut (uvicorn closes idle connections
   at once, and such a request is lost);
4. after ``grace`` seconds (``WEALIST_SHUTDOWN_GRACE_SECONDS``, default 10) cancels what still runs, each
   request not yet answered getting a 503 ``SHUTTING_DOWN`` with ``Retry-After``, with one log line saying
   how many;
5. runs the application's shutdown (adapters closed) and exits with status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from collections.abc import Generator
from typing import Any

import uvicorn

from wealist_core.realtime._hub import close_hubs

__all__ = ["IDLE_WINDOW", "SocketAwareServer", "serve"]

log = logging.getLogger("wealist.serve")

#: Seconds an idle keep-alive connection is kept open after the stop, in case a request is on its way.
IDLE_WINDOW = 0.5
_POLL = 0.05


def _phase(connection: Any) -> str:
    """``idle`` (between requests), ``waiting`` (a request read, no answer started) or ``answering``."""
    cycle = getattr(connection, "cycle", None)
    if cycle is None or cycle.response_complete:
        return "idle"
    return "answering" if cycle.response_started else "waiting"


_SHUTTING_DOWN = {
    "type": "https://wealist.dev/problems/shutting-down",
    "title": "Service unavailable",
    "status": 503,
    "code": "SHUTTING_DOWN",
    "detail": "The server stopped before this request could be answered; send it again.",
}


class _Cuttable:
    """Keeps the task of every HTTP request under way, so that at the end of the grace period :meth:`cut`
    cancels them and each request not yet answered gets a 503 ``SHUTTING_DOWN`` with ``Retry-After``
    rather than a dropped connection."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._running: dict[asyncio.Task[Any], list[bool]] = {}
        self._cut: set[asyncio.Task[Any]] = set()

    def __getattr__(self, name: str) -> Any:  # ``state`` and the like of the application inside
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task() if scope["type"] == "http" else None
        if task is None:
            await self.app(scope, receive, send)
            return
        started = [False]

        async def tracking(message: Any) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        self._running[task] = started
        try:
            await self.app(scope, receive, tracking)
        except asyncio.CancelledError:
            if task not in self._cut or started[0]:
                raise
            task.uncancel()
            body = json.dumps({**_SHUTTING_DOWN, "instance": scope.get("path", "")}).encode()
            headers = [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self._running.pop(task, None)
            self._cut.discard(task)

    def cut(self) -> int:
        """Cancel every request under way; how many there were."""
        for task in self._running:
            self._cut.add(task)
            task.cancel("the shutdown grace period is over")
        return len(self._running)


class SocketAwareServer(uvicorn.Server):
    """uvicorn's server with the drain described in the module's documentation."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.cuttable = _Cuttable(self.config.loaded_app)
        self.config.loaded_app = self.cuttable
        await super().startup(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            yield
            # uvicorn raises the signal again once it has stopped, so the process dies of it (status -15);
            # a drained stop is a clean exit.
            self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("stopping: no new connections; finishing the requests under way")
        loop = asyncio.get_running_loop()
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        # Every request read from now on is answered with Connection: close (uvicorn copies these headers
        # into each new request's answer), so no client sends another on a connection about to close.
        self.server_state.default_headers = [
            *self.server_state.default_headers,
            (b"connection", b"close"),
        ]

        state = getattr(getattr(self.config.app, "state", None), "wealist", None)
        if state is not None:
            await close_hubs(state.container)

        grace = self.config.timeout_graceful_shutdown
        deadline = None if grace is None else loop.time() + grace
        idle_since: dict[int, float] = {}
        told: set[int] = set()
        while self.server_state.connections and not self.force_exit:
            now = loop.time()
            if deadline is not None and now >= deadline:
                break
            for connection in list(self.server_state.connections):
                if not hasattr(connection, "cycle"):  # a WebSocket the hubs did not own: uvicorn's close
                    if id(connection) not in told:
                        told.add(id(connection))
                        connection.shutdown()
                    continue
                phase = _phase(connection)
                if phase == "waiting":
                    idle_since.pop(id(connection), None)
                    connection.shutdown()  # its answer will say Connection: close, then it closes
                elif phase == "answering":
                    # Its headers are sent (saying keep-alive): closing after this answer would cut the
                    # client's next request on it. Once answered it is idle; its next request is told.
                    idle_since.pop(id(connection), None)
                elif now - idle_since.setdefault(id(connection), now) >= IDLE_WINDOW:
                    connection.shutdown()  # idle for the whole window: nothing is on its way
            await asyncio.sleep(_POLL)

        if self.server_state.connections or self.server_state.tasks:
            cut = self.cuttable.cut()
            if cut and not self.force_exit:
                log.error(
                    "the shutdown grace period of %s s is over: %d request(s) still running answered 503",
                    grace,
                    cut,
                )
            await asyncio.sleep(_POLL)  # their 503s are written
            for task in self.server_state.tasks:
                task.cancel(msg="the shutdown grace period is over")
            for connection in list(self.server_state.connections):
                connection.shutdown()
            await asyncio.sleep(_POLL)
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)

        if not self.force_exit:
            await self.lifespan.shutdown()


def serve(app: Any, **options: Any) -> None:
    """``uvicorn.run(app, **options)`` for one process, on :class:`SocketAwareServer`."""
    config = uvicorn.Config(app, **options)
    server = SocketAwareServer(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # uvicorn's status for a failed start
