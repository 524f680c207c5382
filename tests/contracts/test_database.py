"""Contract of the Database port: every adapter, against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.exc import StatementError

from wealist_core import (
    AdapterContext,
    AdapterUnavailable,
    BoundDatabase,
    Settings,
    UtcDateTime,
    outbox_table,
    plugin_metadata,
    utcnow,
)
from wealist_core.sql import SqlAlchemyDatabase

METADATA = MetaData()
ITEMS = Table("demo_item", METADATA, Column("id", Integer, primary_key=True), Column("title", String(100)))
COUNTERS = Table(
    "demo_counter",
    METADATA,
    Column("space", String(36), primary_key=True),
    Column("name", String(50), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("label", String(50), nullable=True),
)
STAMPS = Table("demo_stamp", METADATA, Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
OUTBOX = outbox_table(METADATA, "demo")
SETTING = "WEALIST_DEMO__DATABASE_URL"


def _adapter(url: str, settings: Settings) -> SqlAlchemyDatabase:
    context = AdapterContext(url=url, settings=settings, setting=SETTING)
    if url.startswith("sqlite"):
        from wealist_adapters.sqlite.database import SqliteDatabase

        return SqliteDatabase.from_context(context)
    from wealist_adapters.postgres.database import PostgresDatabase

    return PostgresDatabase.from_context(context)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'wealist.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(
    database_url: str, settings_factory: Callable[..., Settings]
) -> AsyncIterator[SqlAlchemyDatabase]:
    db = _adapter(database_url, settings_factory())
    await db.start()
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield db
    await db.close()


async def _count(db: SqlAlchemyDatabase, table: Table) -> int:
    async with db.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_unit_of_work_commits_on_success(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.session.execute(insert(ITEMS).values(title="write the docs"))

    async with database.unit_of_work() as uow:
        titles = (await uow.session.execute(select(ITEMS.c.title))).scalars().all()
    assert titles == ["write the docs"]


async def test_error_rolls_back_the_change_and_its_events(database: SqlAlchemyDatabase) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with database.unit_of_work(plugin="demo") as uow:
            await uow.session.execute(insert(ITEMS).values(title="doomed"))
            uow.emit("demo.item_created", {"title": "doomed"})
            await uow.session.flush()
            raise Boom

    assert await _count(database, ITEMS) == 0
    assert await _count(database, OUTBOX) == 0


async def test_emitted_events_reach_the_outbox_only_when_committed(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.session.execute(insert(ITEMS).values(title="a"))
        first = uow.emit("demo.item_created", {"title": "a"}, key="ws-1")
        second = uow.emit("demo.item_renamed", {"title": "b"})
        assert await _count(database, OUTBOX) == 0  # another connection sees nothing before the commit

    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(OUTBOX).order_by(OUTBOX.c.seq))).all()
    assert [(r.event_id, r.event_type, r.event_key, r.payload) for r in rows] == [
        (first.id, "demo.item_created", "ws-1", {"title": "a"}),
        (second.id, "demo.item_renamed", None, {"title": "b"}),
    ]


async def test_commit_listener_is_told_the_plugin_after_commits_with_events(
    database: SqlAlchemyDatabase,
) -> None:
    calls: list[str] = []
    database.add_commit_listener(calls.append)

    async with database.unit_of_work(plugin="demo") as uow:
        await uow.session.execute(insert(ITEMS).values(title="quiet"))
    assert calls == []  # nothing emitted: nothing to relay

    async with database.unit_of_work(plugin="demo") as uow:
        uow.emit("demo.item_created", {})
        assert calls == []  # not before the commit
    assert calls == ["demo"]

    with pytest.raises(RuntimeError):
        async with database.unit_of_work(plugin="demo") as uow:
            uow.emit("demo.item_created", {})
            raise RuntimeError("rolled back")
    assert calls == ["demo"]

    database.remove_commit_listener(calls.append)
    async with database.unit_of_work(plugin="demo") as uow:
        uow.emit("demo.item_created", {})
    assert calls == ["demo"]


async def test_emit_needs_a_plugin_and_its_prefix(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work() as uow:
        with pytest.raises(ValueError, match="plugin"):
            uow.emit("demo.item_created", {})
    async with database.unit_of_work(plugin="demo") as uow:
        with pytest.raises(ValueError, match="demo"):
            uow.emit("board.task_created", {})


async def test_concurrent_units_of_work_do_not_interfere(database: SqlAlchemyDatabase) -> None:
    async def work(n: int) -> None:
        async with database.unit_of_work(plugin="demo") as uow:
            # Read, let the others run, then write: the pattern that breaks naive SQLite transactions.
            await uow.session.execute(select(func.count()).select_from(ITEMS))
            await asyncio.sleep(0)
            await uow.session.execute(insert(ITEMS).values(title=f"item {n}"))
            uow.emit("demo.item_created", {"n": n})
            await asyncio.sleep(0)
            if n % 4 == 0:
                raise LookupError(n)

    results = await asyncio.gather(*(work(n) for n in range(12)), return_exceptions=True)

    failed = sorted(r.args[0] for r in results if isinstance(r, LookupError))
    assert failed == [0, 4, 8]
    assert [r for r in results if r is not None and not isinstance(r, LookupError)] == []
    async with database.engine.connect() as connection:
        titles = set((await connection.execute(select(ITEMS.c.title))).scalars())
        payloads = [r.payload["n"] for r in await connection.execute(select(OUTBOX))]
    kept = [n for n in range(12) if n % 4]
    assert titles == {f"item {n}" for n in kept}
    assert sorted(payloads) == kept


async def test_check_answers_when_the_database_does(database: SqlAlchemyDatabase) -> None:
    await database.check()
    assert database.dialect in ("sqlite", "postgresql")


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the database's folder should be")
        return f"sqlite+aiosqlite:///{blocker / 'wealist.db'}"
    return "postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/x"


async def test_start_fails_with_a_sentence_naming_the_setting(
    unreachable_url: str, settings_factory: Callable[..., Settings]
) -> None:
    db = _adapter(unreachable_url, settings_factory())
    try:
        with pytest.raises(AdapterUnavailable) as caught:
            await db.start()
    finally:
        await db.close()
    message = str(caught.value)
    assert message.startswith(SETTING)
    assert "hunter2" not in message
    assert message.count(". ") == 0 and message.endswith(".")


async def test_a_reading_session_sees_each_commit_as_it_happens(database: SqlAlchemyDatabase) -> None:
    async with database.reading() as session:
        assert (await session.execute(select(func.count()).select_from(ITEMS))).scalar_one() == 0
        # No transaction holds a snapshot (nor, on SQLite, the write lock): a write commits meanwhile...
        async with database.unit_of_work(plugin="demo") as uow:
            await uow.session.execute(insert(ITEMS).values(title="written meanwhile"))
        # ...and the next statement of the same reading session sees it.
        assert (await session.execute(select(ITEMS.c.title))).scalars().all() == ["written meanwhile"]


# ---------------------------------------------------------------------------------------------- upsert


async def _counters(db: SqlAlchemyDatabase) -> list[tuple[str, str, int, str | None]]:
    async with db.reading() as session:
        rows = await session.execute(
            select(COUNTERS.c.space, COUNTERS.c.name, COUNTERS.c.value, COUNTERS.c.label).order_by(
                COUNTERS.c.space, COUNTERS.c.name
            )
        )
        return [(r.space, r.name, r.value, r.label) for r in rows]


async def test_upsert_inserts_a_row_that_is_not_there(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(
            COUNTERS,
            {"space": "a", "name": "views", "value": 1, "label": "first"},
            conflict=("space", "name"),
        )

    assert await _counters(database) == [("a", "views", 1, "first")]


async def test_upsert_updates_only_the_named_columns_on_conflict(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(
            COUNTERS,
            {"space": "a", "name": "views", "value": 1, "label": "first"},
            conflict=("space", "name"),
        )
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(
            COUNTERS,
            {"space": "a", "name": "views", "value": 7, "label": "second"},
            conflict=("space", "name"),
            update=("value",),
        )

    assert await _counters(database) == [("a", "views", 7, "first")], "label is not among update"


async def test_upsert_without_update_does_nothing_on_conflict(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(COUNTERS, {"space": "a", "name": "views", "value": 1}, conflict=("space", "name"))
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(COUNTERS, {"space": "a", "name": "views", "value": 9}, conflict=("space", "name"))
        await uow.upsert(
            COUNTERS, {"space": "a", "name": "views", "value": 9}, conflict=("space", "name"), update=()
        )

    assert await _counters(database) == [("a", "views", 1, None)]


async def test_upsert_takes_several_rows_at_once(database: SqlAlchemyDatabase) -> None:
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(COUNTERS, {"space": "a", "name": "views", "value": 1}, conflict=("space", "name"))
    async with database.unit_of_work(plugin="demo") as uow:
        await uow.upsert(
            COUNTERS,
            [
                {"space": "a", "name": "views", "value": 2},
                {"space": "a", "name": "likes", "value": 5},
                {"space": "b", "name": "views", "value": 3},
            ],
            conflict=("space", "name"),
            update=("value",),
        )
        await uow.upsert(COUNTERS, [], conflict=("space", "name"))  # nothing to write: no statement

    assert await _counters(database) == [
        ("a", "likes", 5, None),
        ("a", "views", 2, None),
        ("b", "views", 3, None),
    ]


async def test_upsert_is_refused_in_a_read_only_unit_of_work(database: SqlAlchemyDatabase) -> None:
    async with database.reading_unit_of_work(plugin="demo") as uow:
        assert uow.writable is False
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.upsert(COUNTERS, {"space": "a", "name": "x", "value": 1}, conflict=("space", "name"))

    assert await _counters(database) == []


# -------------------------------------------------------------------------------------------- UTC times


async def test_utc_datetime_gives_back_the_same_instant_aware_in_utc(database: SqlAlchemyDatabase) -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    written = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=seoul)

    async with database.unit_of_work(plugin="demo") as uow:
        await uow.session.execute(insert(STAMPS).values(id=1, at=written))
    async with database.reading() as session:
        (read,) = (await session.execute(select(STAMPS.c.at))).scalars().all()

    assert read == written
    assert read.utcoffset() == dt.timedelta(0)
    assert (read.hour, read.microsecond) == (0, 123456)


async def test_utc_datetime_compares_instants_given_in_any_zone(database: SqlAlchemyDatabase) -> None:
    base = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    async with database.unit_of_work(plugin="demo") as uow:
        for n in range(3):
            await uow.session.execute(insert(STAMPS).values(id=n, at=base + dt.timedelta(hours=n)))

    # 10:30 in Seoul is 01:30 UTC: only the row of 02:00 UTC is later.
    seoul = dt.timezone(dt.timedelta(hours=9))
    cutoff = dt.datetime(2026, 3, 1, 10, 30, tzinfo=seoul)
    async with database.reading() as session:
        later = (await session.execute(select(STAMPS.c.id).where(STAMPS.c.at > cutoff))).scalars().all()

    assert later == [2]


async def test_utc_datetime_refuses_a_naive_datetime(database: SqlAlchemyDatabase) -> None:
    with pytest.raises(StatementError, match="naive"):
        async with database.unit_of_work(plugin="demo") as uow:
            await uow.session.execute(insert(STAMPS).values(id=1, at=dt.datetime(2026, 3, 1, 9, 0)))

    async with database.reading() as session:
        assert (await session.execute(select(func.count()).select_from(STAMPS))).scalar_one() == 0


# ------------------------------------------------------------------------------------------ bound view


async def test_a_bound_database_writes_to_its_plugin_s_outbox_without_being_told(
    database: SqlAlchemyDatabase,
) -> None:
    bound = database.bound("demo")

    async with bound.unit_of_work() as uow:
        await uow.session.execute(insert(ITEMS).values(title="from a job"))
        uow.emit("demo.item_created", {"title": "from a job"})
        with pytest.raises(ValueError, match="demo"):
            uow.emit("board.task_created", {})
    async with bound.reading_unit_of_work() as reading:
        assert reading.writable is False
        with pytest.raises(RuntimeError, match="read-only"):
            reading.emit("demo.item_created", {})

    assert isinstance(bound, BoundDatabase) and bound.unbound is database
    assert bound.dialect == database.dialect and bound.engine is database.engine
    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(OUTBOX.c.event_type, OUTBOX.c.payload))).all()
    assert [tuple(r) for r in rows] == [("demo.item_created", {"title": "from a job"})]
    assert await _count(database, ITEMS) == 1


# ------------------------------------------------------------------------------------------ naming


async def test_plugin_metadata_names_constraints_the_same_way_on_every_database(
    database: SqlAlchemyDatabase,
) -> None:
    metadata = plugin_metadata()
    Table(
        "demo_task",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("column_id", Integer, nullable=False, index=True),
        Column("rank", String(20), nullable=False),
        Column("at", UtcDateTime(), nullable=False, default=utcnow),
        UniqueConstraint("column_id", "rank"),
    )
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(metadata.tables["demo_task"]).values(id=1, column_id=1, rank="a"))

        def names(sync: Any) -> tuple[list[str | None], list[str | None]]:
            inspector = inspect(sync)
            return (
                [i["name"] for i in inspector.get_indexes("demo_task")],
                [u["name"] for u in inspector.get_unique_constraints("demo_task")],
            )

        indexes, uniques = await connection.run_sync(names)
        stamped = (await connection.execute(select(metadata.tables["demo_task"].c.at))).scalar_one()

    assert "ix_demo_task_column_id" in indexes
    assert uniques == ["uq_demo_task_column_id_rank"]
    assert stamped.tzinfo is not None and stamped.utcoffset() == dt.timedelta(0), "utcnow is aware UTC"
