"""Every hook of the Wealist host: signatures and docstrings, no logic.

Hooks wire things at start-up and take a few per-request decisions. Runtime domain events never go through
pluggy: they go through the :class:`~wealist_core.ports.EventBus`, so they cross processes.

Argument names are a fixed vocabulary, always of the same type: ``settings`` (:class:`Settings`),
``container`` (:class:`Container`), ``app`` (the Starlette application), ``request`` (a Starlette
``Request`` or ``WebSocket``), ``cli`` (the ``argparse`` sub-parsers object). An implementation takes only
the arguments it needs. Collect hooks return one value or a list. They run while the application is
built, so they return values; ``wealist_authenticate`` may return an awaitable (the host awaits either),
and the checks of ``wealist_health_checks`` are coroutine functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse
    import contextlib
    from collections.abc import Awaitable, Callable, Iterable

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import HTTPConnection
    from starlette.routing import BaseRoute

    from wealist_core.adapters import AdapterSpec
    from wealist_core.container import Container
    from wealist_core.db import ModelRegistration
    from wealist_core.jobs import Job
    from wealist_core.manifest import PluginManifest
    from wealist_core.ports import EventHandler
    from wealist_core.security import Principal
    from wealist_core.settings import Settings

PROJECT = "wealist"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def wealist_plugin_manifest() -> PluginManifest:  # type: ignore[empty-body]
    """Describe the plugin: name, version, route prefixes, ports used, contracts provided and needed,
    events published and consumed. Called once when the plugin is loaded; every plugin implements it."""


@hookspec
def wealist_register_adapters() -> Iterable[AdapterSpec]:  # type: ignore[empty-body]
    """Adapters this module provides, each for one port and one or more URL schemes."""


@hookspec(historic=True)
def wealist_configure(settings: Settings, container: Container) -> None:
    """Build the plugin's services from its settings and the ports in ``container``; provide the
    contracts it offers with ``container.contracts.provide(...)``. Historic: a plugin registered later
    is configured too."""


@hookspec
def wealist_register_models() -> Iterable[ModelRegistration]:  # type: ignore[empty-body]
    """The plugin's SQLAlchemy metadata and Alembic migrations folder."""


@hookspec
def wealist_register_routes() -> Iterable[BaseRoute]:  # type: ignore[empty-body]
    """HTTP and WebSocket routes, all under the prefixes of the plugin's manifest."""


@hookspec
def wealist_register_middleware() -> Iterable[Middleware]:  # type: ignore[empty-body]
    """ASGI middleware wrapped around the application, inside the host's own."""


@hookspec
def wealist_register_subscriptions() -> Iterable[tuple[str, EventHandler]]:  # type: ignore[empty-body]
    """``(event type, handler)`` pairs bound to the event bus in the plugin's consumer group."""


@hookspec
def wealist_lifespan(app: Starlette) -> contextlib.AbstractAsyncContextManager[Any]:  # type: ignore[empty-body]
    """An async context manager entered when the application starts and exited when it stops."""


@hookspec(firstresult=True)
def wealist_authenticate(request: HTTPConnection) -> Principal | Awaitable[Principal | None] | None:
    """The ``Principal`` of a request, or None when this implementation cannot tell. The first non-None
    answer wins; raise ``Unauthorized`` for a credential that is present but invalid."""


@hookspec
def wealist_health_checks() -> dict[str, Callable[[], Awaitable[None]]]:  # type: ignore[empty-body]
    """Named readiness checks: coroutines that return when healthy and raise otherwise."""


@hookspec
def wealist_register_commands(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add subcommands to the ``wealist`` command line. A subcommand sets ``func`` with
    ``parser.set_defaults(func=...)``; ``func(args)`` returns an exit status or an awaitable of one."""


@hookspec
def wealist_register_jobs() -> Iterable[Job]:  # type: ignore[empty-body]
    """Periodic jobs (``Job(name, func, every=...)`` or ``cron=...``), each run once per period across every
    process and replica of the plugin, with a lease in the plugin's key-value space."""
