"""PostgreSQL through asyncpg."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_only

from wealist_core import AdapterContext, AdapterError
from wealist_core.settings import mask_url
from wealist_core.sql import SqlAlchemyDatabase

__all__ = ["PostgresDatabase"]

_DRIVER = "postgresql+asyncpg"
_SCHEMES = ("postgres", "postgresql", _DRIVER)

#: Pool settings read from the URL's query (``?pool_size=20``) and their defaults. A process holds at most
#: pool_size + max_overflow connections; recycling every 30 minutes keeps proxies (RDS Proxy, PgBouncer)
#: and load balancers from cutting idle connections under us.
POOL_DEFAULTS: Mapping[str, int] = {
    "pool_size": 10,
    "max_overflow": 10,
    "pool_recycle": 1800,
    "pool_timeout": 30,
}


class PostgresDatabase(SqlAlchemyDatabase):
    """The :class:`~wealist_core.ports.Database` port on PostgreSQL.

    Accepts ``postgresql+asyncpg://``, ``postgresql://`` and ``postgres://`` URLs. Besides the pool settings
    of :data:`POOL_DEFAULTS`, the query may carry asyncpg's connect options, e.g. ``?ssl=require``; the
    libpq spelling ``sslmode=`` is understood too. A connection is checked when it leaves the pool, so a
    database restart or failover costs no failed request: one the server is known to have closed is
    replaced, and one unused for ``ping_after_idle`` seconds is pinged first. A connection busy a moment
    ago is not pinged: under load that would be a round trip on every request (SQLAlchemy's
    ``pool_pre_ping`` spends three), and a server that fails under load fails the requests in flight anyway.
    """

    #: Seconds a pooled connection may sit unused before its next checkout pings it.
    ping_after_idle = 1.0

    def __init__(self, url: str, *, setting: str = "WEALIST_DATABASE_URL", **engine_options: Any) -> None:
        url, pool = _normalise(url, setting)
        options: dict[str, Any] = {**pool, **engine_options}
        super().__init__(url, setting=setting, **options)

    @classmethod
    def from_context(cls, context: AdapterContext) -> PostgresDatabase:
        return cls(context.url, setting=context.setting)

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> AsyncEngine:
        engine = create_async_engine(url, **options)

        @event.listens_for(engine.sync_engine, "connect")
        @event.listens_for(engine.sync_engine, "checkin")
        def _mark_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            record.info["idle_since"] = time.monotonic()

        @event.listens_for(engine.sync_engine, "checkout")
        def _check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
            # Raising DisconnectionError makes the pool discard the connection and hand out a new one.
            raw = dbapi_connection._connection  # the asyncpg connection inside SQLAlchemy's adapter
            if raw.is_closed():  # the server hung up (restart, failover, terminate) and we saw it
                raise DisconnectionError("the server closed this connection")
            if time.monotonic() - record.info.get("idle_since", 0.0) < self.ping_after_idle:
                return  # in use a moment ago: a ping on every checkout would cost a round trip per request
            try:
                await_only(raw.execute("SELECT 1"))  # one round trip (pool_pre_ping spends three)
            except Exception as exc:
                raise DisconnectionError(f"the connection does not answer: {exc}") from exc

        return engine

    def _unavailable_fix(self) -> str:
        return f"start PostgreSQL there, create the database, or set {self.setting} to a server that runs"


def _normalise(url: str, setting: str) -> tuple[str, dict[str, int]]:
    """The asyncpg URL without the pool settings, and those settings."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise AdapterError(
            f"{setting} is {mask_url(url)}, which is not a valid PostgreSQL URL; {_EXAMPLE}."
        ) from exc
    if parsed.drivername not in _SCHEMES:
        raise AdapterError(f"{setting} is {mask_url(url)}, which is not a PostgreSQL URL; {_EXAMPLE}.")
    query = dict(parsed.query)
    pool: dict[str, int] = {}
    for name, default in POOL_DEFAULTS.items():
        raw = query.pop(name, None)
        try:
            pool[name] = int(raw if isinstance(raw, str) else default)
        except ValueError as exc:
            raise AdapterError(f"{setting} sets {name}={raw}, which is not a whole number; fix it.") from exc
    if "sslmode" in query and "ssl" not in query:
        query["ssl"] = query.pop("sslmode")
    parsed = parsed.set(drivername=_DRIVER, query=query)
    return parsed.render_as_string(hide_password=False), pool


_EXAMPLE = "set it like postgresql+asyncpg://user:password@host:5432/wealist"
