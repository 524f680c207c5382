"""SQLite through aiosqlite: the embedded database (one file under the data directory, WAL mode)."""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _database(context: AdapterContext) -> Resource:
    from wealist_adapters.sqlite.database import SqliteDatabase

    return SqliteDatabase.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [AdapterSpec("database", ("sqlite+aiosqlite", "sqlite"), _database, "SqliteDatabase")]
