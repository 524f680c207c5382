"""Outages of the servers a process depends on, answered as 503 rather than 500, for every plugin.

An adapter turns the driver's connection failures into :class:`~wealist_core.errors.DependencyUnavailable`
naming its port (``database``, ``keyvalue``, ``pubsub``, ...): :func:`translate_outages` does it for a block
of code, :func:`translating_methods` for every coroutine method of an adapter class. The host answers the
error with 503 problem+json, ``Retry-After`` and the dependency's name (never its address), logs one
warning line and counts it in ``wealist_dependency_unavailable_total{dependency}``.

::

    with translate_outages("keyvalue", is_outage=lambda exc: isinstance(exc, redis.ConnectionError)):
        await client.get(key)
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import logging
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from wealist_core.errors import DependencyUnavailable

__all__ = [
    "is_connection_failure",
    "is_database_outage",
    "outage_handlers",
    "translate_outages",
    "translating_methods",
]

log = logging.getLogger("wealist.outages")

T = TypeVar("T")

#: errno values that mean "the server is not there", as opposed to a local file or permission problem.
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EPIPE,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.EHOSTUNREACH,
        errno.ENOTCONN,
    }
)

#: PostgreSQL's connection-exception class (08) and the server shutting down or starting (57P01-57P03).
_SQLSTATES_DOWN = ("08", "57P01", "57P02", "57P03")

_DATABASE_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "psycopg", "sqlite3")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver error SQLAlchemy wraps, and their causes and contexts (bounded)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 16:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def is_connection_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a network failure reaching a server: refused, reset, timed out, unresolvable."""
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, socket.herror)):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


def _raised_in(exc: BaseException, modules: Iterable[str]) -> bool:
    prefixes = tuple(modules)
    tb = exc.__traceback__
    while tb is not None:
        name = str(tb.tb_frame.f_globals.get("__name__", ""))
        if name.startswith(prefixes):
            return True
        tb = tb.tb_next
    return False


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (raised while using a SQL database) means the database cannot be reached: a
    connection refused or lost, a pool that hands out none in time, a server shutting down or starting."""
    from sqlalchemy import exc as sa_exc

    for item in _chain(exc):
        if isinstance(item, DependencyUnavailable):
            return False  # already named by whoever raised it
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(item, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
            return True
        sqlstate = getattr(item, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_SQLSTATES_DOWN):
            return True
        if is_connection_failure(item) and _raised_in(item, _DATABASE_MODULES):
            return True
    return False


@contextlib.contextmanager
def translate_outages(dependency: str, *, is_outage: Callable[[BaseException], bool]) -> Iterator[None]:
    """Raise :class:`DependencyUnavailable` ``(dependency)`` from any error of the block ``is_outage``
    accepts; every other error passes unchanged."""
    try:
        yield
    except DependencyUnavailable:
        raise
    except Exception as exc:
        if is_outage(exc):
            raise DependencyUnavailable(dependency) from exc
        raise


def translating_methods(
    dependency: str, is_outage: Callable[[BaseException], bool], *, skip: Iterable[str] = ()
) -> Callable[[type[T]], type[T]]:
    """A class decorator: every public coroutine method the class defines (but ``skip``) raises
    :class:`DependencyUnavailable` ``(dependency)`` from the errors ``is_outage`` accepts."""
    skipped = set(skip)

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def translated(*args: Any, **kwargs: Any) -> Any:
            with translate_outages(dependency, is_outage=is_outage):
                return await method(*args, **kwargs)

        return translated

    def decorate(cls: type[T]) -> type[T]:
        for name, value in list(vars(cls).items()):
            if name.startswith("_") or name in skipped or not inspect.iscoroutinefunction(value):
                continue
            setattr(cls, name, wrap(value))
        return cls

    return decorate


def _reason(exc: BaseException | None) -> str:
    return type(exc).__name__ if exc is not None else "-"


async def _dependency_unavailable(conn: HTTPConnection, exc: Exception) -> Response | None:
    assert isinstance(exc, DependencyUnavailable)
    from wealist_core.http.problems import problem_response

    state = getattr(getattr(conn.scope.get("app"), "state", None), "wealist", None)
    metrics = getattr(state, "metrics", None)
    counter = getattr(metrics, "dependency_unavailable", None)
    if counter is not None:
        counter.labels(exc.dependency).inc()
    # One line, no traceback: an outage of a few seconds under load would otherwise flood the log. The
    # driver's message is left out too: it names the server's address.
    log.warning(
        "%s unavailable on %s %s (%s)",
        exc.dependency,
        conn.scope.get("method", "WEBSOCKET"),
        conn.url.path,
        _reason(exc.__cause__),
    )
    if isinstance(conn, WebSocket):
        await conn.close(code=1013, reason="try again later")
        return None
    assert isinstance(conn, Request)
    return problem_response(exc, conn)


def outage_handlers() -> dict[Any, Any]:
    """Starlette exception handlers answering :class:`DependencyUnavailable` (merged by the host)."""
    return {DependencyUnavailable: _dependency_unavailable}
