"""PostgreSQL through asyncpg."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
    libpq spelling ``sslmode=`` is understood too. Connections are pinged before use, so a database restart
    costs no failed request.
    """

    def __init__(self, url: str, *, setting: str = "WEALIST_DATABASE_URL", **engine_options: Any) -> None:
        url, pool = _normalise(url, setting)
        options: dict[str, Any] = {"pool_pre_ping": True, **pool, **engine_options}
        super().__init__(url, setting=setting, **options)

    @classmethod
    def from_context(cls, context: AdapterContext) -> PostgresDatabase:
        return cls(context.url, setting=context.setting)

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> AsyncEngine:
        return create_async_engine(url, **options)

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
