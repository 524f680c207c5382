"""The application factory: plugins and adapters in, one Starlette application out.

Start-up runs once and fails fast, before the first request: plugins are loaded and checked, adapters
resolved, every plugin configured and every route placed under its plugin's prefixes. The lifespan then
opens the adapters, migrates the embedded database, starts the outbox relays and event consumers and
enters the plugins' own lifespans, all in one ``AsyncExitStack`` that closes in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import inspect
import ipaddress
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from wealist_core import __version__
from wealist_core._contract_cache import Invalidations
from wealist_core._keys import ensure_secrets
from wealist_core.container import Container
from wealist_core.db import ModelRegistration
from wealist_core.errors import NotFound, PluginError
from wealist_core.events import normalise_subscriptions, subscriptions_of
from wealist_core.http import routing as http_routing
from wealist_core.http.openapi import DOCS_HTML, build_openapi
from wealist_core.http.problems import exception_handlers
from wealist_core.http.routing import ApiRoute
from wealist_core.http.security_headers import SecurityHeadersMiddleware, csp_for_inline_script
from wealist_core.observability import HostMiddleware, Metrics, configure_logging, flush_access_logs
from wealist_core.outages import outage_handlers
from wealist_core.peers import INTERNAL_OPENAPI, Peers
from wealist_core.plugins import PluginHost
from wealist_core.ports import EventBus
from wealist_core.realtime._lifecycle import running_sockets
from wealist_core.scheduler import JobScheduler
from wealist_core.security import Principal
from wealist_core.settings import Settings

__all__ = ["WealistState", "create_app", "create_app_from_env", "maybe_await"]

log = logging.getLogger("wealist.app")


async def maybe_await(value: Any) -> Any:
    """Hook results may be values or awaitables; this awaits either."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass
class WealistState:
    """What the host keeps on ``app.state.wealist``."""

    settings: Settings
    host: PluginHost
    container: Container
    metrics: Metrics
    routes: list[BaseRoute]
    peers: Peers
    openapi: dict[str, Any] | None = None
    health_checks: dict[str, Any] = field(default_factory=dict)
    consumer_groups: list[str] = field(default_factory=list)  # plugins with event subscriptions
    jobs: JobScheduler | None = None  # the periodic jobs of this process's plugins

    authenticators: list[Callable[..., Any]] = field(default_factory=list)

    async def authenticate(self, request: HTTPConnection) -> Principal | None:
        """Ask each ``wealist_authenticate`` implementation in turn; the first Principal wins."""
        for authenticator in self.authenticators:
            principal = await maybe_await(authenticator(request=request))
            if principal is not None:
                return principal  # type: ignore[no-any-return]
        return None


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Sequence[object] = (),
    adapters: Sequence[object] = (),
) -> Starlette:
    """Build the application of one process.

    ``plugins`` and ``adapters`` are added to those found through entry points (tests pass them with
    ``autoload=False`` to load exactly what they name). Raises a ``ConfigurationError`` for any mistake.
    """
    settings = ensure_secrets(settings if settings is not None else Settings.load())
    host = PluginHost(settings, plugins=plugins, adapters=adapters)
    container = Container(settings, host.adapters, host.manifests())
    _configure(host, settings, container)
    metrics = Metrics()

    routes = _plugin_routes(host, settings)
    routes += container.contracts.routes(settings.max_body_bytes)
    for _label, resource in container.resources():
        routes += list(resource.routes())
    peers = Peers(settings.peers, local=host.active, service_token=settings.service_token)
    state = WealistState(settings, host, container, metrics, routes, peers)
    # In pluggy's calling order, looked up once: this runs on every authenticated request.
    state.authenticators = [i.function for i in reversed(host.pm.hook.wealist_authenticate.get_hookimpls())]
    for route in _walk(routes):
        if isinstance(route, ApiRoute):
            route.authenticator = state.authenticate
            route.default_max_body = settings.max_body_bytes
            route.bind(container)
    http_routing.BODY_READ_TIMEOUT = settings.body_read_timeout
    routes += _host_routes(state)

    middleware = [
        Middleware(HostMiddleware, metrics=metrics, access_log_enabled=settings.access_log),
        Middleware(SecurityHeadersMiddleware),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After", "ETag"],
                allow_credentials=True,
                max_age=600,
            )
        )
    for items in host.per_plugin("wealist_register_middleware").values():
        middleware.extend(items)

    for checks in host.per_plugin("wealist_health_checks").values():
        for check in checks:
            state.health_checks.update(check)
    state.health_checks.update(peers.health_checks())

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={**exception_handlers(), **outage_handlers()},
        lifespan=_lifespan(state),
    )
    app.state.wealist = state
    # Before the adapters start: a plugin with jobs gets its key space bound here if it has none.
    state.jobs = JobScheduler.collect(host, container, metrics)
    return app


def create_app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (and ``wealist serve`` with several workers)."""
    settings = Settings.load()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def _configure(host: PluginHost, settings: Settings, container: Container) -> None:
    """Every ``wealist_configure``, in pluggy's calling order, each while the host knows whose it is: a
    contract a plugin asks for there is checked against its manifest's ``needs``.

    The implementations are called one by one (pluggy's historic call runs them all at once, without
    saying whose runs when); the call is then recorded as historic with no one left to call, so that a
    plugin registered later is configured too, as the hook promises.
    """
    kwargs: dict[str, Any] = {"settings": settings, "container": container}
    container.contracts.cache_seconds = settings.contract_cache_seconds
    hook = host.pm.hook.wealist_configure
    for impl in reversed(hook.get_hookimpls()):
        loaded = host.active.get(impl.plugin_name)
        asking = container.contracts.configuring(loaded.manifest) if loaded else contextlib.nullcontext()
        with asking:
            impl.function(*(kwargs[name] for name in impl.argnames))
    everyone = host.pm.get_plugins()
    host.pm.subset_hook_caller("wealist_configure", remove_plugins=everyone).call_historic(kwargs=kwargs)


# ------------------------------------------------------------------------------------------------- routes


def _plugin_routes(host: PluginHost, settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name, items in host.per_plugin("wealist_register_routes").items():
        prefixes = host.active[name].manifest.prefixes
        for route in items:
            path = getattr(route, "path", None)
            if not isinstance(route, BaseRoute) or path is None:
                raise PluginError(f"Plugin '{name}' registered {route!r}, which is not a Starlette route.")
            if not any(path == p or path.startswith(p + "/") for p in prefixes):
                raise PluginError(
                    f"Plugin '{name}' registers the route {path} outside its prefixes "
                    f"({', '.join(prefixes) or 'none declared'}); add the prefix to its manifest."
                )
            for child in _walk([route]):
                child.plugin = name  # type: ignore[attr-defined]
            routes.append(route)
    return routes


def _walk(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, those inside mounts included."""
    for route in routes:
        yield route
        if isinstance(route, Mount):
            yield from _walk(route.routes)


def _host_routes(state: WealistState) -> list[BaseRoute]:
    async def live(request: Request) -> Response:
        """Liveness: the process answers."""
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        """Readiness: every adapter and plugin check passes within two seconds."""
        checks: dict[str, Any] = {}
        for label, resource in state.container.resources():
            name = _LOCAL_URL_PATH.sub(":///<path>", label)  # a local file's URL: its scheme, not its path
            name = name if name not in checks else f"{name}#{len(checks)}"
            checks[name] = resource.check
        checks.update(state.health_checks)
        results = await asyncio.gather(
            *(asyncio.wait_for(check(), timeout=2.0) for check in checks.values()), return_exceptions=True
        )
        report: dict[str, str] = {}
        failing: list[str] = []
        for name, result in zip(checks, results, strict=True):
            if isinstance(result, BaseException):
                # The answer names the check and what went wrong, never where it lives (a file's path).
                log.warning("readiness check %s failing: %r", name, result)
                reason = _ABSOLUTE_PATH.sub("<path>", str(result)) or type(result).__name__
                report[name] = f"failing: {reason}"
                failing.append(name)
            else:
                report[name] = "ok"
        body: dict[str, Any] = {"status": "ok" if not failing else "failing", "checks": report}
        if failing:
            body["failing"] = failing
        return JSONResponse(body, status_code=503 if failing else 200)

    async def metrics(request: Request) -> Response:
        """Prometheus metrics of this process: for the addresses of ``metrics_allowed`` (loopback by
        default) or a scraper sending ``metrics_token`` as a bearer token; 404 for anyone else."""
        if not _metrics_allowed(request, state.settings):
            raise NotFound()
        for plugin in state.consumer_groups:
            try:
                lag = await asyncio.wait_for(state.container.eventbus(plugin).lag(plugin), timeout=1.0)
            except Exception:  # a slow or failing bus must not break the scrape; readiness reports it
                continue
            state.metrics.event_lag.labels(plugin).set(lag)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def own_openapi() -> dict[str, Any]:
        if state.openapi is None:
            state.openapi = build_openapi(state.routes, title="Wealist API", version=__version__)
        return state.openapi

    async def openapi(request: Request) -> Response:
        """The OpenAPI 3.1 document of every route this process serves, and its peers' (split shape)."""
        return JSONResponse(await state.peers.merged_openapi(own_openapi()))

    async def docs(request: Request) -> Response:
        """A readable page of the OpenAPI document."""
        return HTMLResponse(DOCS_HTML, headers={"Content-Security-Policy": DOCS_CSP})

    return [
        Route("/health/live", live, methods=["GET"], name="health_live"),
        Route("/health/ready", ready, methods=["GET"], name="health_ready"),
        Route("/metrics", metrics, methods=["GET"], name="metrics", include_in_schema=False),
        Route("/api/openapi.json", openapi, methods=["GET"], name="openapi", include_in_schema=False),
        Route(
            INTERNAL_OPENAPI,
            state.peers.own_openapi_endpoint(own_openapi),
            methods=["GET"],
            name="internal_openapi",
            include_in_schema=False,
        ),
        Route("/api/docs", docs, methods=["GET"], name="docs", include_in_schema=False),
        *_frontend_routes(state.settings),
    ]


def _metrics_allowed(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token and hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
        return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for allowed in settings.metrics_allowed:
        with contextlib.suppress(ValueError):
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
    return False


_LOCAL_URL_PATH = re.compile(r":///.*$")
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])(?:[A-Za-z]:\\|/)(?:[\w.~-]+[/\\])*[\w.~-]+")
DOCS_CSP = csp_for_inline_script(DOCS_HTML.split("<script>", 1)[1].split("</script>", 1)[0])

_NOT_FRONTEND = ("/api/", "/ws/", "/internal/", "/health/", "/blobs/")
_NO_FRONTEND_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wealist</title></head>
<body style="font:16px system-ui,sans-serif;max-width:40rem;margin:4rem auto">
<h1>Wealist is running</h1>
<p>The web app is not built here (no <code>index.html</code> in <code>frontend_dir</code>):
run <code>make run</code> from the repository,
or <code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>.</p>
<p>The API: <a href="/api/docs">/api/docs</a> · health: <a href="/health/ready">/health/ready</a></p>
</body></html>"""


def _frontend_routes(settings: Settings) -> list[BaseRoute]:
    """The single-page app at ``/``: its files, and ``index.html`` for every other page path."""
    folder = Path(settings.frontend_dir).resolve()

    async def frontend(request: Request) -> Response:
        path = request.url.path
        if not (folder / "index.html").is_file():
            return HTMLResponse(_NO_FRONTEND_PAGE, status_code=200 if path == "/" else 404)
        candidate = (folder / path.lstrip("/")).resolve()
        if candidate.is_relative_to(folder) and candidate.is_file():
            return FileResponse(candidate)
        return FileResponse(folder / "index.html", headers={"Cache-Control": "no-cache"})

    return [
        _FrontendRoute(
            "/{path:path}", frontend, methods=["GET", "HEAD"], name="frontend", include_in_schema=False
        )
    ]


class _FrontendRoute(Route):
    """Matches every page path of the web app, never an API path (those stay problem+json 404s)."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        path = scope.get("path", "")
        if path.startswith(_NOT_FRONTEND) or path in ("/metrics", "/api", "/ws"):
            return Match.NONE, {}
        return super().matches(scope)


# ---------------------------------------------------------------------------------------------- lifespan


def _lifespan(state: WealistState) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        host, container, settings = state.host, state.container, state.settings
        async with contextlib.AsyncExitStack() as stack:
            await container.start()
            stack.push_async_callback(container.close)
            await _migrate(host, container, settings)
            await _start_outbox_relays(host, container, stack)
            stack.push_async_callback(state.peers.close)
            invalidations = Invalidations(settings, host.adapters)
            stack.push_async_callback(invalidations.close)
            cache_buses = await invalidations.start(
                seconds=settings.contract_cache_seconds,
                provided=container.contracts.cacheable_providers(),
                cached=container.contracts.remote_cache_groups(c for m in host.manifests() for c in m.needs),
                eventbus_of=lambda p: container.eventbus(p) if container.has_port(p, "eventbus") else None,
            )
            state.consumer_groups = await _start_consumers(host, container)
            for bus in cache_buses:  # after every subscription of the process (a bus starts once)
                await bus.start_consuming()
            for managers in host.per_plugin("wealist_lifespan", app=app).values():
                for manager in managers:
                    await stack.enter_async_context(manager)
            if state.jobs is not None:  # last in, first out: no job runs while the rest stops
                await stack.enter_async_context(state.jobs.running())
            # Entered last, so left first: sockets close (1001) while what their handlers use still runs.
            await stack.enter_async_context(running_sockets(container, state.metrics, state.routes))
            if settings.environment != "test":
                # What start-up built (modules, models, routes) lives as long as the process: moved out of
                # the collector's sight, it is no longer scanned by every full collection while requests
                # run. Garbage is collected first, so that only what lives is frozen. (Tests start hundreds
                # of applications in one process: there, freezing would keep each one's garbage forever.)
                gc.collect()
                gc.freeze()
            log.info("started", extra={"plugins": list(host.active)})
            yield
        flush_access_logs()
        log.info("stopped")

    return lifespan


def registrations(host: PluginHost) -> list[ModelRegistration]:
    return [reg for regs in host.per_plugin("wealist_register_models").values() for reg in regs]


async def _migrate(host: PluginHost, container: Container, settings: Settings) -> None:
    """Migrate the embedded database at start; real databases are migrated by ``wealist migrate``."""
    regs = registrations(host)
    if not regs:
        return
    from wealist_core.migrations import upgrade

    for reg in regs:
        database = container.database(reg.plugin)
        if database.dialect == "sqlite" or settings.auto_migrate:
            await upgrade(database, reg)


async def _start_outbox_relays(
    host: PluginHost, container: Container, stack: contextlib.AsyncExitStack
) -> None:
    from wealist_core.outbox import OutboxRelay

    for name in host.active:
        if not container.has_port(name, "database"):
            continue
        relay = OutboxRelay(container.database(name), container.eventbus(name), name)
        await relay.start()
        stack.push_async_callback(_stop_relay, relay)


async def _stop_relay(relay: Any) -> None:
    # Publish what is left before stopping, briefly: a row left behind is relayed at the next start anyway.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(relay.drain(), timeout=2.0)
    await relay.close()


async def _start_consumers(host: PluginHost, container: Container) -> list[str]:
    buses: dict[int, EventBus] = {}
    groups: list[str] = []
    registered = host.per_plugin("wealist_register_subscriptions")
    for name in host.active:
        pairs = normalise_subscriptions(registered.get(name, ()))
        pairs += subscriptions_of(host.active[name].obj)  # @subscribe methods
        if not pairs:
            continue
        if not container.has_port(name, "eventbus"):
            raise PluginError(
                f"Plugin '{name}' subscribes to events but does not list 'eventbus' in its manifest's ports."
            )
        bus = container.eventbus(name)
        for event_type, handler in pairs:
            bus.subscribe(name, event_type, handler)
        buses[id(bus)] = bus
        groups.append(name)
    for bus in buses.values():
        await bus.start_consuming()
    return groups
