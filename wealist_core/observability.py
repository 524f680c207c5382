"""JSON logs, Prometheus metrics and request ids.

One pure ASGI middleware (no ``BaseHTTPMiddleware``: it costs a task per request) gives every request an
``X-Request-ID`` (the caller's, when it is sane, else a new one), counts it by route template and plugin,
times it, and writes one access-log line. Log records carry the request id, plugin and user id through
context variables, so a plugin's own log lines are correlated without passing anything around.
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import itertools
import json
import logging
import os
import re
import sys
import time
import weakref
from collections.abc import Iterator
from typing import Any, TextIO

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from wealist_core._types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AccessLog",
    "HostMiddleware",
    "JsonFormatter",
    "Metrics",
    "SocketCounters",
    "SocketStats",
    "configure_logging",
    "flush_access_logs",
    "request_id_var",
]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "wealist_request_id", default=None
)
plugin_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("wealist_plugin", default=None)
user_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("wealist_user", default=None)


def _reset_request_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = os.urandom(8).hex()
    _id_counter = itertools.count()


_id_prefix, _id_counter = "", itertools.count()
_reset_request_ids()
os.register_at_fork(after_in_child=_reset_request_ids)  # forked workers must not repeat each other's ids


def _new_request_id() -> str:
    """32 hex digits, unique without a system call per request: a random prefix per process and a count."""
    return f"{_id_prefix}{next(_id_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Record attributes that are not extras; uvicorn's color_message duplicates msg with terminal escapes.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}
access_log = logging.getLogger("wealist.access")
log = logging.getLogger("wealist.http")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, plugin, user, and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["requestId"] = request_id
        plugin = plugin_var.get()
        if plugin:
            entry["plugin"] = plugin
        user = user_var.get()
        if user:
            entry["userId"] = user
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


JsonFormatter.converter = time.gmtime
_quote = (
    json.encoder.encode_basestring
)  # a JSON string literal, as the encoder below writes it (C-accelerated)
# One encoder for every line: json.dumps with options builds a new one per call (an access-log line each).
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)

_configured = False
_json_stream: TextIO | None = None  # where JSON lines go once configure_logging chose the JSON format


def configure_logging(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Install one handler on the root logger (once per process), writing to ``stream`` (stderr)."""
    global _configured, _json_stream
    root = logging.getLogger()
    root.setLevel(level.upper())
    if _configured:
        return
    target = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(target)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root.addHandler(handler)
    # Alembic announces its dialect at every start; only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # httpx logs every request at INFO: a line per contract call (the access log already has the request).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    if fmt == "json":
        _json_stream = target
    _configured = True


#: Access-log lines are written together, at most this many seconds after the first of them (or as soon
#: as there are FLUSH_LINES): a write per request cost as much as the host's own work on it.
FLUSH_AFTER = 0.05
FLUSH_LINES = 256


_access_logs: weakref.WeakSet[AccessLog] = weakref.WeakSet()


def flush_access_logs() -> None:
    """Write every access-log line still waiting for its batch (the host calls it when it stops)."""
    for writer in list(_access_logs):
        writer.flush()


class AccessLog:
    """Writes one access-log line per request.

    With JSON logs configured by the host, a request only records its values; the lines are made (the
    shape ``JsonFormatter`` gives) and written in batches, within ``FLUSH_AFTER`` seconds and at shutdown.
    Going through ``logging`` (a record, caller lookup, a lock and a flush per line) cost as much as the
    whole rest of the host per request. Anywhere else (a custom handler on ``wealist.access``, text logs,
    tests) the line goes through ``logging`` as usual.
    """

    def __init__(self) -> None:
        _access_logs.add(self)
        self._pending: list[tuple[Any, ...]] = []
        self._second = -1
        self._stamp = ""

    def write(
        self,
        method: str,
        path: str,
        route: str,
        route_plugin: str,
        status: int,
        elapsed: float,
        principal: str | None,
    ) -> None:
        if _json_stream is None or access_log.handlers or not access_log.isEnabledFor(logging.INFO):
            if access_log.isEnabledFor(logging.INFO):
                fields = {
                    "method": method,
                    "path": path,
                    "route": route,
                    "routePlugin": route_plugin,
                    "status": status,
                    "durationMs": round(elapsed * 1000, 2),
                    "principal": principal,
                }
                access_log.info(f"{method} {path} {status}", extra=fields)
            return
        # Only the values are kept here; the lines are made when the batch is written, together.
        pending = self._pending
        if not pending:
            asyncio.get_running_loop().call_later(FLUSH_AFTER, self.flush)
        pending.append(
            (
                time.time(),
                request_id_var.get(),
                plugin_var.get(),
                user_var.get(),
                method,
                path,
                route,
                route_plugin,
                status,
                elapsed,
                principal,
            )
        )
        if len(pending) >= FLUSH_LINES:
            self.flush()

    def flush(self) -> None:
        if not self._pending or _json_stream is None:
            return
        entries, self._pending = self._pending, []
        try:
            _json_stream.write("".join(self._line(*entry) for entry in entries))
            _json_stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not fail requests
            pass

    def _line(
        self,
        now: float,
        request_id: str | None,
        plugin: str | None,
        user: str | None,
        method: str,
        path: str,
        route: str,
        route_plugin: str,
        status: int,
        elapsed: float,
        principal: str | None,
    ) -> str:
        """The JsonFormatter's shape, as one f-string: every string that is not ours is escaped."""
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        context = ""
        if request_id:
            context += f',"requestId":{_quote(request_id)}'
        if plugin:
            context += f',"plugin":{_quote(plugin)}'
        if user:
            context += f',"userId":{_quote(user)}'
        return (
            f'{{"ts":"{self._stamp}.{int((now - second) * 1000):03d}Z","level":"info",'
            f'"logger":"wealist.access","msg":{_quote(f"{method} {path} {status}")}{context},'
            f'"method":{_quote(method)},"path":{_quote(path)},"route":{_quote(route)},'
            f'"routePlugin":{_quote(route_plugin)},"status":{status},'
            f'"durationMs":{round(elapsed * 1000, 2)},'
            f'"principal":{_quote(principal) if principal is not None else "null"}}}\n'
        )


#: Upper bounds of the latency histogram's buckets, in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Periodic jobs last from milliseconds (nothing to purge) to many minutes (a digest for everyone).
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class _RouteStats:
    """What one (method, route, plugin) served: counts by status and a latency histogram."""

    __slots__ = ("buckets", "by_status", "total_seconds")

    def __init__(self) -> None:
        self.by_status: dict[int, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total_seconds = 0.0


class HttpStats(Collector):
    """Request counts and latencies kept as plain numbers and turned into Prometheus metrics when scraped.

    prometheus-client's labelled counters and histograms take a lock and walk the buckets on every
    observation; measured through a real server that cost about as much as the rest of the host's work on a
    request, for numbers that are read once every fifteen seconds. Requests run on one event loop per
    process, so nothing here needs a lock. The series are the ones the client library would export:
    ``wealist_http_requests_total``, ``wealist_http_request_duration_seconds`` and
    ``wealist_http_errors_total``.
    """

    def __init__(self) -> None:
        self._stats: dict[tuple[str, str, str], _RouteStats] = {}

    def observe(self, method: str, route: str, plugin: str, status: int, seconds: float) -> None:
        key = (method, route, plugin)
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = _RouteStats()
        by_status = stats.by_status
        by_status[status] = by_status.get(status, 0) + 1
        stats.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        stats.total_seconds += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "wealist_http_requests",
            "HTTP requests by route template, plugin and status.",
            labels=["method", "route", "plugin", "status"],
        )
        latency = HistogramMetricFamily(
            "wealist_http_request_duration_seconds",
            "HTTP request latency by route template and plugin.",
            labels=["method", "route", "plugin"],
        )
        errors = CounterMetricFamily(
            "wealist_http_errors",
            "HTTP answers with a 5xx status by route template and plugin.",
            labels=["method", "route", "plugin"],
        )
        for (method, route, plugin), stats in list(self._stats.items()):
            failed = 0
            for status, count in sorted(stats.by_status.items()):
                requests.add_metric([method, route, plugin, str(status)], count)
                if status >= 500:
                    failed += count
            if failed:
                errors.add_metric([method, route, plugin], failed)
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, LATENCY_BUCKETS), "+Inf"), stats.buckets, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric([method, route, plugin], buckets, stats.total_seconds)
        yield requests
        yield latency
        yield errors

    def describe(self) -> Iterator[Metric]:
        return iter(())


class SocketCounters:
    """What one plugin's sockets did in this process, as plain integers its connections bump (a frame
    fanned out to a thousand sockets is a thousand increments: no lock for each)."""

    __slots__ = ("dropped", "received", "sent", "slow_closes")

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.slow_closes = 0


class SocketStats(Collector):
    """Frames sent, received and dropped and slow-client closes per plugin, exported when scraped:
    ``wealist_websocket_frames_sent_total``, ``..._frames_received_total``, ``..._frames_dropped_total``,
    ``wealist_websocket_slow_closes_total``. Open sockets are the ``wealist_websocket_connections`` gauge."""

    _SERIES = (
        ("sent", "wealist_websocket_frames_sent", "Frames sent to WebSocket clients by plugin."),
        (
            "received",
            "wealist_websocket_frames_received",
            "Frames received from WebSocket clients by plugin.",
        ),
        (
            "dropped",
            "wealist_websocket_frames_dropped",
            "Frames not sent because their socket was closing or too slow, by plugin.",
        ),
        (
            "slow_closes",
            "wealist_websocket_slow_closes",
            "Sockets closed with 4408 because the client did not keep up, by plugin.",
        ),
    )

    def __init__(self) -> None:
        self._plugins: dict[str, SocketCounters] = {}

    def plugin(self, name: str) -> SocketCounters:
        """The counters of plugin ``name`` (the same object every time)."""
        counters = self._plugins.get(name)
        if counters is None:
            counters = self._plugins[name] = SocketCounters()
        return counters

    def collect(self) -> Iterator[Metric]:
        for attribute, name, documentation in self._SERIES:
            family = CounterMetricFamily(name, documentation, labels=["plugin"])
            for plugin, counters in sorted(self._plugins.items()):
                family.add_metric([plugin], getattr(counters, attribute))
            yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


class Metrics:
    """The application's Prometheus metrics, in a registry of its own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http = HttpStats()
        self.registry.register(self.http)
        self.in_flight = Gauge(
            "wealist_http_requests_in_flight", "HTTP requests being served.", registry=self.registry
        )
        # A plain integer the middleware bumps, read when Prometheus scrapes: no lock per request.
        self.in_flight_count = 0
        self.in_flight.set_function(lambda: self.in_flight_count)
        self.websockets = Gauge(
            "wealist_websocket_connections",
            "Open WebSocket connections by plugin.",
            ["plugin"],
            registry=self.registry,
        )
        self.sockets = SocketStats()  # frames and slow closes of the real-time toolkit's sockets
        self.registry.register(self.sockets)
        self.event_lag = Gauge(
            "wealist_eventbus_lag",
            "Events not yet handled by a plugin's consumer group.",
            ["plugin"],
            registry=self.registry,
        )
        # Answers 503 because a server could not be reached (wealist_core.outages), by the port's name.
        self.dependency_unavailable = Counter(
            "wealist_dependency_unavailable",
            "Requests answered 503 because a dependency (database, keyvalue, ...) could not be reached.",
            ["dependency"],
            registry=self.registry,
        )
        # Periodic jobs (wealist_core.scheduler): a few runs an hour, so the client library's types serve.
        self.job_runs = Counter(
            "wealist_job_runs",
            "Periodic job runs in this process by plugin, job and outcome (success, failure, timeout).",
            ["plugin", "job", "outcome"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "wealist_job_duration_seconds",
            "Duration of periodic job runs by plugin and job.",
            ["plugin", "job"],
            buckets=JOB_BUCKETS,
            registry=self.registry,
        )
        self.job_last_success = Gauge(
            "wealist_job_last_success_timestamp_seconds",
            "Start (Unix time) of each job's last successful run, in whichever process ran it.",
            ["plugin", "job"],
            registry=self.registry,
        )


async def _send_internal_error(send: Send, scope: Scope, request_id: str) -> None:
    problem = {
        "type": "https://wealist.dev/problems/internal-error",
        "title": "Internal server error",
        "status": 500,
        "code": "INTERNAL_ERROR",
        "detail": "An unexpected error occurred; it has been logged.",
        "instance": scope["path"],
        "requestId": request_id,
    }
    body = _ENCODER.encode(problem).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _route_labels(scope: Scope) -> tuple[str, str]:
    route = scope.get("route")
    if route is None:
        return "<unmatched>", "host"
    # The template without converters (``{itemId}``, not ``{itemId:uuid}``), as the OpenAPI document names it.
    path = str(getattr(route, "template", None) or getattr(route, "path", "<unmatched>"))
    return path, getattr(route, "plugin", None) or "host"


class HostMiddleware:
    """Request id, metrics and access log for every HTTP request and WebSocket."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log_enabled: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log_enabled = access_log_enabled
        self.access_log = AccessLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _SANE_ID.match(candidate):
                    request_id = candidate
                break
        if request_id is None:
            request_id = _new_request_id()
        scope["wealist.request_id"] = request_id
        token = request_id_var.set(request_id)
        # The route sets the plugin and user once it knows them; start each request without either.
        plugin_token, user_token = plugin_var.set(None), user_var.set(None)
        try:
            if kind == "http":
                # Inline rather than a method of its own: this runs on every request, and each coroutine
                # layer costs.
                status = 0  # none sent yet
                header = (b"x-request-id", request_id.encode("latin-1"))

                async def send_wrapper(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                        message["headers"] = [*message.get("headers", ()), header]
                    await send(message)

                metrics = self.metrics
                metrics.in_flight_count += 1
                started = time.perf_counter()
                try:
                    await self.app(scope, receive, send_wrapper)
                except Exception:
                    # Answered here rather than by Starlette's outermost handler, which runs after this
                    # middleware has finished (no request id, no metrics) and re-raises, so the server
                    # logs it a second time.
                    log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                    if status:
                        raise  # the answer is under way: nothing sensible can be sent any more
                    await _send_internal_error(send_wrapper, scope, request_id)
                finally:
                    metrics.in_flight_count -= 1
                    self._record(scope, status or 500, time.perf_counter() - started)
            else:
                await self._websocket(scope, receive, send)
        finally:
            user_var.reset(user_token)
            plugin_var.reset(plugin_token)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        """Metrics and the access-log line of one finished request."""
        route, plugin = _route_labels(scope)
        method = scope["method"]
        self.metrics.http.observe(method, route, plugin, status, elapsed)
        if self.access_log_enabled:
            principal = scope.get("wealist.principal")
            self.access_log.write(
                method,
                scope["path"],
                route,
                plugin,
                status,
                elapsed,
                getattr(principal, "id", None),
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        gauge = None
        opened = False

        async def send_wrapper(message: Message) -> None:
            nonlocal gauge, opened
            if message["type"] == "websocket.accept" and not opened:
                opened = True
                gauge = self.metrics.websockets.labels(_route_labels(scope)[1])
                gauge.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if gauge is not None:
                gauge.dec()
