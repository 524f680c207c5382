"""SQLite through aiosqlite: the embedded database, one file under the data directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from wealist_core import AdapterContext, AdapterError
from wealist_core.settings import mask_url
from wealist_core.sql import SqlAlchemyDatabase

__all__ = ["SqliteDatabase"]

_DRIVER = "sqlite+aiosqlite"
# Execution option read by the ``begin`` listener: units of work ask for BEGIN IMMEDIATE.
_BEGIN_OPTION = "wealist_sqlite_begin"


class SqliteDatabase(SqlAlchemyDatabase):
    """The :class:`~wealist_core.ports.Database` port on a SQLite file.

    Every connection runs in WAL mode (readers never wait for the writer) with foreign keys enforced,
    ``synchronous=NORMAL`` (durable across process crashes, fast) and a busy timeout, so a writer waits
    for another instead of failing. Units of work start with ``BEGIN IMMEDIATE``: they take the write lock
    up front, because a transaction that reads and then writes after another writer committed would
    otherwise fail at once with "database is locked" (SQLite cannot upgrade a stale read snapshot).
    So never open a unit of work inside another: the inner one would wait for the outer one's lock.
    """

    def __init__(
        self,
        url: str,
        *,
        setting: str = "WEALIST_DATABASE_URL",
        busy_timeout_ms: int = 5000,
        **engine_options: Any,
    ) -> None:
        self.busy_timeout_ms = busy_timeout_ms
        url, self.path = _normalise(url, setting)
        super().__init__(url, setting=setting, **engine_options)

    @classmethod
    def from_context(cls, context: AdapterContext) -> SqliteDatabase:
        return cls(context.url, setting=context.setting)

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> AsyncEngine:
        engine = create_async_engine(url, **options)
        busy_timeout = int(self.busy_timeout_ms)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            # Let SQLAlchemy emit BEGIN itself (below): the sqlite3 driver's own transaction handling
            # skips BEGIN before SELECT and DDL, which breaks isolation and transactional migrations.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Connection) -> None:
            options = connection.get_execution_options()
            if options.get("isolation_level") == "AUTOCOMMIT":
                return  # Database.reading(): statements outside any transaction
            mode = options.get(_BEGIN_OPTION, "")
            connection.exec_driver_sql(f"BEGIN {mode}".strip())

        return engine

    def _unit_of_work_bind(self, engine: AsyncEngine) -> AsyncEngine:
        return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})

    def _prepare(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def _unavailable_fix(self) -> str:
        return f"make its folder writable or set {self.setting} to a file this process can create"


def _normalise(url: str, setting: str) -> tuple[str, Path | None]:
    """``sqlite:///x`` -> ``sqlite+aiosqlite:///x``, and the file's path (None for a ``file:`` URI)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise AdapterError(
            f"{setting} is {mask_url(url)}, which is not a valid SQLite URL; {_EXAMPLE}."
        ) from exc
    if parsed.drivername not in ("sqlite", _DRIVER):
        raise AdapterError(f"{setting} is {mask_url(url)}, which is not a SQLite URL; {_EXAMPLE}.")
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        # Each pooled connection would get its own empty database, or share one transaction.
        raise AdapterError(f"{setting} is {mask_url(url)}, an in-memory SQLite database; {_EXAMPLE}.")
    parsed = parsed.set(drivername=_DRIVER)
    path = None if database.startswith("file:") else Path(database)
    return parsed.render_as_string(hide_password=False), path


_EXAMPLE = "set it to a file such as sqlite+aiosqlite:///data/wealist.db"
