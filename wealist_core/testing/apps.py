"""The application a test talks to: exactly the plugins it names, every installed adapter, and an HTTP
client on the ASGI app with its lifespan running (adapters open, database migrated, consumers started)."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Sequence
from importlib.metadata import entry_points

import httpx
from starlette.applications import Starlette

from wealist_core.app import create_app
from wealist_core.errors import PluginError
from wealist_core.plugins import ADAPTER_GROUP
from wealist_core.settings import Settings
from wealist_core.testing.auth import TestAuthPlugin
from wealist_core.testing.events import EventRecorder

__all__ = ["build_app", "client_for", "installed_adapters", "plugin_named", "running"]


def installed_adapters() -> list[object]:
    """Every adapter package registered in the ``wealist.adapters`` entry-point group, imported.

    Adapters are infrastructure, not behaviour: a test loads exactly the plugins it names but every adapter,
    so the settings alone choose SQLite or PostgreSQL, ``memory://`` or Redis."""
    return [ep.load() for ep in sorted(entry_points(group=ADAPTER_GROUP), key=lambda ep: ep.name)]


def build_app(
    settings: Settings,
    plugins: Sequence[object],
    *,
    adapters: Sequence[object] | None = None,
    test_auth: bool = True,
    record: bool = True,
) -> Starlette:
    """``create_app`` with ``plugins`` (classes, instances or modules) and, unless turned off, a
    :class:`TestAuthPlugin` and an :class:`EventRecorder` of every event the named plugins publish
    (find them with :func:`plugin_named`). ``adapters`` defaults to :func:`installed_adapters`."""
    objects = [obj() if inspect.isclass(obj) else obj for obj in plugins]
    extra: list[object] = []
    if test_auth:
        extra.append(TestAuthPlugin())
    if record:
        names = [
            obj.wealist_plugin_manifest().name for obj in objects if hasattr(obj, "wealist_plugin_manifest")
        ]
        if names:
            extra.append(EventRecorder.of_plugins(names))
    return create_app(
        settings,
        plugins=[*objects, *extra],
        adapters=installed_adapters() if adapters is None else adapters,
    )


def plugin_named(app: Starlette, name: str) -> object:
    """The plugin object ``name`` of the application (a ``PluginError`` naming those it runs otherwise)."""
    active = app.state.wealist.host.active
    if name not in active:
        raise PluginError(f"The application runs no plugin '{name}'; it runs {', '.join(active) or 'none'}.")
    return active[name].obj


@contextlib.asynccontextmanager
async def client_for(
    app: Starlette, *, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` talking to ``app`` in process (its lifespan is the caller's business).

    An unhandled error is answered by the host as a 500 problem, as a real server would, rather than raised
    into the test (``raise_app_exceptions=False``)."""
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


@contextlib.asynccontextmanager
async def running(app: Starlette, *, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """The application started (its lifespan entered: adapters open, database migrated, consumers running)
    and a :func:`client_for` it."""
    async with app.router.lifespan_context(app), client_for(app, base_url=base_url) as client:
        yield client
