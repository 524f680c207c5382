"""The outbox relay, on SQLite and PostgreSQL, with a recording event bus."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import MetaData, func, select

from wealist_core import Event, EventBus, EventHandler, outbox_table
from wealist_core.outbox import OutboxRelay
from wealist_core.sql import SqlAlchemyDatabase

METADATA = MetaData()
OUTBOX = outbox_table(METADATA, "demo")


class RecordingBus(EventBus):
    """Keeps what was published; ``failures`` makes that many publishes raise first."""

    def __init__(self, log: list[Event] | None = None) -> None:
        self.published: list[Event] = [] if log is None else log
        self.failures = 0
        self.attempts = 0

    async def publish(self, event: Event) -> None:
        self.attempts += 1
        await asyncio.sleep(0)  # let concurrent relays interleave
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the bus is down")
        self.published.append(event)

    def subscribe(self, group: str, event_type: str, handler: EventHandler) -> None:
        raise NotImplementedError

    async def start_consuming(self) -> None:
        raise NotImplementedError

    async def lag(self, group: str) -> int:
        return 0

    async def dead_letters(self, group: str, *, limit: int = 100) -> list[Event]:
        return []


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # A sync fixture: an async one cannot ask for the async postgres_url fixture by name.
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
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield db
    await db.close()


@pytest.fixture
async def relays() -> AsyncIterator[Callable[..., OutboxRelay]]:
    """Builds relays and closes every one of them after the test."""
    made: list[OutboxRelay] = []

    def make(database: SqlAlchemyDatabase, bus: EventBus, **options: float) -> OutboxRelay:
        relay = OutboxRelay(database, bus, "demo", **options)  # type: ignore[arg-type]
        made.append(relay)
        return relay

    yield make
    for relay in made:
        await relay.close()


async def _emit(database: SqlAlchemyDatabase, *numbers: int) -> list[Event]:
    async with database.unit_of_work(plugin="demo") as uow:
        return [uow.emit("demo.counted", {"n": n}, key="k") for n in numbers]


async def _outbox_size(database: SqlAlchemyDatabase) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(OUTBOX))).scalar_one())


async def _until(condition: Callable[[], bool]) -> None:
    """Poll briefly: the relay runs in its own task."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the condition is the relay's output, no event to wait on
            await asyncio.sleep(0.01)


async def test_drain_publishes_in_order_and_deletes(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    emitted = await _emit(database, 1, 2, 3)
    emitted += await _emit(database, 4)
    bus = RecordingBus()

    assert await relays(database, bus, batch_size=3).drain() == 4

    assert bus.published == emitted  # same ids, types, payloads, keys, times, in order
    assert await _outbox_size(database) == 0


async def test_a_commit_wakes_the_running_relay(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    bus = RecordingBus()
    relay = relays(database, bus, interval=60)  # the sweep will not come during the test
    await relay.start()

    emitted = await _emit(database, 1, 2)

    await _until(lambda: len(bus.published) == 2)
    assert [e.id for e in bus.published] == [e.id for e in emitted]


async def test_a_failed_publish_keeps_the_row_and_it_is_relayed_later(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    emitted = await _emit(database, 1, 2, 3)
    bus = RecordingBus()
    bus.failures = 1
    relay = relays(database, bus)

    with pytest.raises(ConnectionError):
        await relay.drain()
    assert bus.published == []
    assert await _outbox_size(database) == 3
    async with database.engine.connect() as connection:
        errors = (await connection.execute(select(OUTBOX.c.error).order_by(OUTBOX.c.seq))).scalars().all()
    assert "the bus is down" in errors[0]

    assert await relay.drain() == 3
    assert bus.published == emitted


async def test_the_running_relay_survives_failures_and_retries(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    bus = RecordingBus()
    bus.failures = 2
    relay = relays(database, bus, interval=60, retry_delay=0.01)
    await relay.start()

    emitted = await _emit(database, 1, 2)

    await _until(lambda: len(bus.published) == 2)
    assert bus.published == emitted
    assert bus.attempts == 4


async def test_rows_left_by_a_crashed_process_are_relayed_at_start(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    emitted = await _emit(database, 1, 2, 3)  # committed, but nobody was relaying
    bus = RecordingBus()

    await relays(database, bus, interval=60).start()

    await _until(lambda: len(bus.published) == 3)
    assert bus.published == emitted
    async with asyncio.timeout(5):
        while await _outbox_size(database):  # noqa: ASYNC110 - the deletions commit after the last publish
            await asyncio.sleep(0.01)


async def test_the_sweep_relays_rows_committed_elsewhere(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    bus = RecordingBus()
    await relays(database, bus, interval=0.05).start()
    await asyncio.sleep(0)

    # Written without a unit of work of this database, as another process would: no commit listener runs.
    async with database.engine.begin() as connection:
        await connection.execute(
            OUTBOX.insert().values(
                event_id="00000000-0000-0000-0000-000000000001",
                event_type="demo.counted",
                payload={"n": 1},
                occurred_at=dt.datetime.now(dt.UTC),
            )
        )

    await _until(lambda: len(bus.published) == 1)
    assert bus.published[0].id == "00000000-0000-0000-0000-000000000001"
    assert bus.published[0].occurred_at.tzinfo is not None


async def test_concurrent_relays_publish_each_row_once_in_order(
    database: SqlAlchemyDatabase, relays: Callable[..., OutboxRelay]
) -> None:
    emitted = []
    for start in range(0, 40, 8):
        emitted += await _emit(database, *range(start, start + 8))
    log: list[Event] = []  # both replicas publish to the same (shared) bus

    first = relays(database, RecordingBus(log), batch_size=3)
    second = relays(database, RecordingBus(log), batch_size=3)
    await asyncio.gather(first.drain(), second.drain(), first.drain(), second.drain())
    while await _outbox_size(database):  # a replica that stepped back leaves the rest to the next pass
        await asyncio.gather(first.drain(), second.drain())

    assert [e.id for e in log] == [e.id for e in emitted]


async def test_a_plugin_without_an_outbox_table_gets_a_warning_not_a_failing_relay(
    database: SqlAlchemyDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    relay = OutboxRelay(database, RecordingBus(), "quiet")

    await relay.start()

    assert "quiet_outbox" in caplog.text
    await relay.close()
