"""The uvicorn server ``wealist serve`` runs: it closes the sockets with 1001 before uvicorn stops.

uvicorn, told to stop, closes every open socket with 1012 (service restart) before the application's
lifespan ends, so the toolkit's own goodbye would come too late. :class:`SocketAwareServer` closes them
first, with 1001 (going away), after sending what their queues hold; uvicorn then finds them closed.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn

from wealist_core.realtime._hub import close_hubs

__all__ = ["SocketAwareServer", "serve"]


class SocketAwareServer(uvicorn.Server):
    """uvicorn's server, closing the application's sockets with 1001 (going away) before uvicorn's own
    shutdown would close them with 1012."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = getattr(getattr(self.config.app, "state", None), "wealist", None)
        if state is not None:
            await close_hubs(state.container)
        await super().shutdown(sockets)


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
