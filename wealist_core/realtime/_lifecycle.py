"""The toolkit's part of the host's lifespan: socket routes bound at start, sockets closed with 1001 at stop.

(uvicorn closes sockets itself, with 1012, before the lifespan ends: see ``_server.py`` for how
``wealist serve`` closes them with 1001 first.)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from wealist_core.realtime._channel import socket_routes
from wealist_core.realtime._hub import close_hubs

if TYPE_CHECKING:
    from wealist_core.container import Container
    from wealist_core.observability import Metrics

__all__ = ["running_sockets"]


@contextlib.asynccontextmanager
async def running_sockets(
    container: Container, metrics: Metrics, routes: Sequence[BaseRoute]
) -> AsyncIterator[None]:
    """Bind every socket route to its plugin's hub (a plugin without the pubsub port fails here, at start);
    at the end, close every socket with 1001 and drop the hubs' subscriptions."""
    for route in socket_routes(routes):
        route.bind(container, metrics)
    try:
        yield
    finally:
        await close_hubs(container)
