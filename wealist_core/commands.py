"""What a plugin's command line subcommand uses to reach the host outside a running server.

``wealist_register_commands`` adds subcommands; when one needs the whole application (seeding demo data
through the HTTP API) it calls :func:`create_app`, and when it needs only a few ports of one plugin (rotating
signing keys in the auth database) it opens them with :func:`standalone_ports`, which starts the adapters the
settings choose and closes them afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from wealist_core.app import create_app
from wealist_core.container import Container
from wealist_core.manifest import PluginManifest
from wealist_core.plugins import PluginHost
from wealist_core.settings import Settings

__all__ = ["create_app", "standalone_ports"]


@contextlib.asynccontextmanager
async def standalone_ports(
    settings: Settings, manifest: PluginManifest, *, adapters: Sequence[object] = ()
) -> AsyncIterator[Container]:
    """A container with the ports ``manifest`` lists, started, for a command that runs outside a server;
    the adapters are found as ``wealist serve`` finds them (entry points, plus ``adapters``)."""
    host = PluginHost(settings.model_copy(update={"plugins": ()}), adapters=adapters, check=False)
    container = Container(settings, host.adapters, [manifest])
    await container.start()
    try:
        yield container
    finally:
        await container.close()
