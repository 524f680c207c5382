"""Per-plugin Alembic migrations on SQLite and PostgreSQL, with real migration folders under fixtures/."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, insert, inspect, select

from wealist_core import ModelRegistration
from wealist_core.errors import PluginError
from wealist_core.migrations import current, revision, upgrade, upgrade_all, version_table
from wealist_core.sql import SqlAlchemyDatabase

FIXTURES = Path(__file__).parent / "fixtures"

DEMO_METADATA = MetaData()
DEMO_ITEMS = Table(
    "demo_item",
    DEMO_METADATA,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("done", Boolean, nullable=False),
)
DEMO = ModelRegistration("demo", DEMO_METADATA, FIXTURES / "migrations_demo")
NOTES = ModelRegistration("notes", MetaData(), FIXTURES / "migrations_notes")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}"
    return str(request.getfixturevalue("postgres_url"))


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


async def _tables(database: SqlAlchemyDatabase) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_applies_both_revisions_and_the_outbox_works(database: SqlAlchemyDatabase) -> None:
    assert await current(database, DEMO) == ()

    await upgrade(database, DEMO)

    assert await current(database, DEMO) == ("d0002",)
    assert {"demo_item", "demo_outbox", "demo_alembic_version"} <= await _tables(database)
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.session.execute(insert(DEMO_ITEMS).values(title="migrated", done=True))
        event = uow.emit("demo.item_created", {"title": "migrated"})
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(DEMO_ITEMS.c.done))).scalar_one() is True
        ids = (await connection.exec_driver_sql("SELECT event_id FROM demo_outbox")).scalars().all()
    assert ids == [event.id]


async def test_upgrade_to_a_revision_then_to_heads(database: SqlAlchemyDatabase) -> None:
    await upgrade(database, DEMO, "d0001")
    assert await current(database, DEMO) == ("d0001",)

    await upgrade(database, DEMO)
    assert await current(database, DEMO) == ("d0002",)


async def test_upgrade_is_idempotent(database: SqlAlchemyDatabase) -> None:
    await upgrade(database, DEMO)
    async with database.unit_of_work() as uow:
        await uow.session.execute(insert(DEMO_ITEMS).values(title="kept", done=False))

    await upgrade(database, DEMO)

    assert await current(database, DEMO) == ("d0002",)
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(DEMO_ITEMS.c.title))).scalars().all() == ["kept"]


async def test_two_plugins_in_one_database_keep_separate_version_tables(database: SqlAlchemyDatabase) -> None:
    done = await upgrade_all(lambda plugin: database, [DEMO, NOTES])

    assert done == ["demo", "notes"]
    assert await current(database, DEMO) == ("d0002",)
    assert await current(database, NOTES) == ("n0001",)
    tables = await _tables(database)
    assert {version_table("demo"), version_table("notes"), "notes_note", "notes_outbox"} <= tables
    async with database.engine.connect() as connection:
        versions = (await connection.exec_driver_sql("SELECT version_num FROM notes_alembic_version")).all()
    assert versions == [("n0001",)]


async def test_plugins_on_separate_databases(database: SqlAlchemyDatabase, tmp_path: Path) -> None:
    from wealist_adapters.sqlite.database import SqliteDatabase

    other = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}")
    await other.start()
    try:
        await upgrade_all({"demo": database, "notes": other}.__getitem__, [DEMO, NOTES])
        assert "notes_note" not in await _tables(database)
        assert "demo_item" not in await _tables(other)
        assert await current(other, NOTES) == ("n0001",)
    finally:
        await other.close()


async def test_without_migrations_the_metadata_and_outbox_are_created(database: SqlAlchemyDatabase) -> None:
    metadata = MetaData()
    Table("proto_thing", metadata, Column("id", Integer, primary_key=True))
    registration = ModelRegistration("proto", metadata)

    await upgrade(database, registration)
    await upgrade(database, registration)  # checkfirst: a second run changes nothing

    assert {"proto_thing", "proto_outbox"} <= await _tables(database)
    async with database.unit_of_work(plugin="proto") as uow:
        uow.emit("proto.created", {})


async def test_a_folder_without_env_py_is_a_plugin_error(
    database: SqlAlchemyDatabase, tmp_path: Path
) -> None:
    with pytest.raises(PluginError, match=r"'broken'.*no env\.py"):
        await upgrade(database, ModelRegistration("broken", MetaData(), tmp_path))


async def test_revision_autogenerates_only_the_plugins_own_changes(tmp_path: Path) -> None:
    from wealist_adapters.sqlite.database import SqliteDatabase

    folder = tmp_path / "migrations"
    shutil.copytree(FIXTURES / "migrations_demo", folder)
    database = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}")
    await database.start()
    try:
        await upgrade(database, NOTES)  # another plugin's tables share the database
        metadata = MetaData()
        for table in DEMO_METADATA.tables.values():
            table.to_metadata(metadata)
        Table("demo_tag", metadata, Column("id", Integer, primary_key=True), Column("name", String(40)))
        registration = ModelRegistration("demo", metadata, folder)
        await upgrade(database, registration)

        path = await revision(database, registration, "add tags")

        source = path.read_text()
        assert "demo_tag" in source
        assert "notes_" not in source and "demo_outbox" not in source
        await upgrade(database, registration)
        assert "demo_tag" in await _tables(database)
    finally:
        await database.close()


async def test_revision_lays_out_a_new_folder_with_the_plugin_branch(tmp_path: Path) -> None:
    from wealist_adapters.sqlite.database import SqliteDatabase

    metadata = MetaData()
    Table("fresh_item", metadata, Column("id", Integer, primary_key=True))
    registration = ModelRegistration("fresh", metadata, tmp_path / "migrations")
    database = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}")
    await database.start()
    try:
        path = await revision(database, registration, "first")

        assert (tmp_path / "migrations" / "env.py").read_text().strip().endswith("run_env()")
        assert "branch_labels: str | Sequence[str] | None = ('fresh',)" in path.read_text()
        await upgrade(database, registration)
        assert "fresh_item" in await _tables(database)
    finally:
        await database.close()
