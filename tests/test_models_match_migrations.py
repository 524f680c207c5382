"""Every installed plugin's migrations build exactly its models, on SQLite and on PostgreSQL.

The plugins are those of the ``wealist.plugins`` entry points, so a plugin added to the distribution is
checked without a line here. A failure lists what differs; ``wealist migrate --make PLUGIN -m MESSAGE``
writes the revision that is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from wealist_core import ModelRegistration
from wealist_core.migrations import describe_differences, differences, upgrade
from wealist_core.plugins import PLUGIN_GROUP
from wealist_core.sql import SqlAlchemyDatabase


def _registrations() -> list[ModelRegistration]:
    found: list[ModelRegistration] = []
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name):
        obj = ep.load()
        plugin = obj() if isinstance(obj, type) else obj
        register = getattr(plugin, "wealist_register_models", None)
        found.extend(register() if register else [])
    return found


REGISTRATIONS = _registrations()


def test_the_built_in_plugins_with_tables_are_checked() -> None:
    assert {"user", "auth"} <= {r.plugin for r in REGISTRATIONS}
    assert all(r.migrations is not None for r in REGISTRATIONS), "every installed plugin ships migrations"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}"
    return str(request.getfixturevalue("postgres_url"))  # a new database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[SqlAlchemyDatabase]:
    db: SqlAlchemyDatabase
    if database_url.startswith("sqlite"):
        from wealist_adapters.sqlite.database import SqliteDatabase

        db = SqliteDatabase(database_url)
    else:
        from wealist_adapters.postgres.database import PostgresDatabase

        db = PostgresDatabase(database_url)
    await db.start()
    yield db
    await db.close()


@pytest.mark.parametrize("registration", REGISTRATIONS, ids=[r.plugin for r in REGISTRATIONS])
async def test_migrations_build_the_models(
    database: SqlAlchemyDatabase, registration: ModelRegistration
) -> None:
    await upgrade(database, registration)

    missing = describe_differences(await differences(database, registration))

    assert missing == [], (
        f"the models of '{registration.plugin}' differ from its migrations: {missing}; "
        f'`wealist migrate --make {registration.plugin} -m "..."` writes the revision'
    )
