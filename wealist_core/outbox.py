"""The outbox relay: moves a plugin's committed events from ``<plugin>_outbox`` to the event bus.

A unit of work writes its events to the outbox in the same transaction as the change, so they exist exactly
when the change does. The relay then publishes them in ``seq`` order and deletes each row once the bus has
taken it. Delivery is at least once: a crash between publishing and deleting publishes the row again after
restart, and nothing is ever lost. Consumers therefore deduplicate by ``Event.id`` (the event bus does it
per consumer group).

The relay wakes when the database reports a commit that wrote this plugin's outbox, and also sweeps every
``interval`` seconds, which relays rows left behind by a process that died (and rows written by other
processes sharing the database). On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` so
replicas never publish the same row at the same time; a replica that finds older rows locked by another
steps back rather than publish out of order. On SQLite the relay's transaction takes the write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Row, delete, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wealist_core.ports import Database, Event, EventBus
from wealist_core.sql import outbox_for

__all__ = ["OutboxRelay"]

logger = logging.getLogger("wealist.outbox")


@runtime_checkable
class _NotifiesCommits(Protocol):
    def add_commit_listener(self, callback: Callable[[str], None]) -> None: ...

    def remove_commit_listener(self, callback: Callable[[str], None]) -> None: ...


class OutboxRelay:
    """Publishes ``plugin``'s outbox rows to ``bus`` in order, deleting each once published.

    ``interval`` is the period of the sweep for rows nobody woke the relay for; after a failure the relay
    waits ``retry_delay`` seconds, doubling up to ``max_retry_delay`` while failures last.
    """

    def __init__(
        self,
        database: Database,
        bus: EventBus,
        plugin: str,
        *,
        interval: float = 5.0,
        batch_size: int = 100,
        retry_delay: float = 0.5,
        max_retry_delay: float = 30.0,
    ) -> None:
        self.database = database
        self.bus = bus
        self.plugin = plugin
        self.interval = interval
        self.batch_size = batch_size
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._table = outbox_for(plugin)
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Set when another replica held older rows: look again soon instead of after a full interval.
        self._contended = False

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Relay what is already in the outbox, then keep relaying in a background task.

        A plugin whose database has no outbox table (it emits nothing) gets a warning and no task, rather
        than a task failing every few seconds; ``emit`` would fail at commit, naming the table.
        """
        if self._task is not None:
            return
        if not await self._outbox_exists():
            logger.warning(
                "not relaying events of plugin %s: its database has no %s table; create it in a migration "
                "with wealist_core.migrations.create_outbox_table",
                self.plugin,
                self._table.name,
            )
            return
        self._loop = asyncio.get_running_loop()
        if isinstance(self.database, _NotifiesCommits):
            self.database.add_commit_listener(self._on_commit)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.plugin}")

    async def close(self) -> None:
        """Stop the background task; rows not yet relayed stay in the outbox for the next start."""
        if isinstance(self.database, _NotifiesCommits):
            self.database.remove_commit_listener(self._on_commit)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _outbox_exists(self) -> bool:
        async with self.database.engine.connect() as connection:
            return bool(await connection.run_sync(lambda sync: inspect(sync).has_table(self._table.name)))

    def _on_commit(self, plugin: str) -> None:
        if plugin != self.plugin or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._wake.set()
        else:  # a commit made in another thread's loop
            self._loop.call_soon_threadsafe(self._wake.set)

    # -------------------------------------------------------------------------------------------- relaying

    async def drain(self) -> int:
        """Relay every row now; the number published. Raises what publishing raised (rows stay)."""
        total = 0
        async with self._drain_lock:
            while True:
                published, more = await self._relay_batch()
                total += published
                if not more:
                    return total

    async def _relay_batch(self) -> tuple[int, bool]:
        """Publish one batch; ``(published, True)`` when more rows may be waiting."""
        failure: Exception | None = None
        published = 0
        async with self.database.unit_of_work() as uow:
            rows = await self._lock_head(uow.session)
            if not rows:
                return 0, False
            for row in rows:
                try:
                    await self.bus.publish(_event(row))
                except Exception as exc:
                    # Keep the row (it is retried first, so order holds) and note why, for operators.
                    failure = exc
                    await uow.session.execute(
                        update(self._table).where(self._table.c.seq == row.seq).values(error=repr(exc)[:2000])
                    )
                    break
                await uow.session.execute(delete(self._table).where(self._table.c.seq == row.seq))
                published += 1
        # The deletions of the rows published before a failure are committed above.
        if failure is not None:
            raise failure
        return published, len(rows) == self.batch_size

    async def _lock_head(self, session: AsyncSession) -> Sequence[Row[Any]]:
        """The oldest rows, locked for this transaction; none when another replica holds older ones."""
        table = self._table
        query = select(table).order_by(table.c.seq).limit(self.batch_size)
        if self.database.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = (await session.execute(query)).all()
        self._contended = False
        if rows and self.database.dialect == "postgresql":
            oldest = (await session.execute(select(func.min(table.c.seq)))).scalar_one()
            if oldest is not None and oldest < rows[0].seq:
                # Rows before ours are being relayed by another replica: publishing ours now would
                # overtake them. Leave everything to that replica and look again shortly.
                self._contended = True
                return ()
        return rows

    async def _run(self) -> None:
        delay = self.retry_delay
        while True:
            try:
                count = await self.drain()
            except Exception:
                logger.exception("relaying the %s outbox failed; retrying in %.1f s", self.plugin, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
                continue
            delay = self.retry_delay
            if count:
                logger.debug("relayed %d events from the %s outbox", count, self.plugin)
            timeout = min(self.interval, self.retry_delay) if self._contended else self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()


def _event(row: Row[Any]) -> Event:
    occurred_at: dt.datetime = row.occurred_at
    if occurred_at.tzinfo is None:  # SQLite returns the stored UTC time without its zone
        occurred_at = occurred_at.replace(tzinfo=dt.UTC)
    return Event(
        type=row.event_type,
        payload=dict(row.payload),
        id=row.event_id,
        occurred_at=occurred_at,
        key=row.event_key,
    )
