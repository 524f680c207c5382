"""PostgreSQL through asyncpg."""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _database(context: AdapterContext) -> Resource:
    from wealist_adapters.postgres.database import PostgresDatabase

    return PostgresDatabase.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            "database", ("postgresql+asyncpg", "postgresql", "postgres"), _database, "PostgresDatabase"
        )
    ]
