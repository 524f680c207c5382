"""The SQLAlchemy implementation of the :class:`~wealist_core.ports.Database` port, shared by the adapters.

The SQLite and PostgreSQL adapters subclass :class:`SqlAlchemyDatabase` and only say how their engine is
built; units of work, the outbox and the commit listeners behave the same on both::

    async with database.unit_of_work(plugin="board") as uow:
        uow.session.add(task)
        uow.emit("board.task_created", {"taskId": str(task.id)})
    # committed here; the event sits in board_outbox and the OutboxRelay is woken

A unit of work commits when its block ends normally and rolls back (re-raising) when it raises. Events are
inserted into ``<plugin>_outbox`` just before the commit, so they exist exactly when the change does.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, ClassVar

from sqlalchemy import MetaData, Table, insert, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from wealist_core.db import outbox_table
from wealist_core.errors import AdapterUnavailable
from wealist_core.events import DomainEvent, to_event
from wealist_core.outages import is_database_outage, translate_outages
from wealist_core.ports import Database, Event, UnitOfWork
from wealist_core.settings import mask_url

__all__ = ["CommitListener", "SqlAlchemyDatabase", "SqlUnitOfWork", "outbox_for"]

logger = logging.getLogger("wealist.database")

#: Called after a commit that wrote outbox rows, with the plugin whose outbox it was.
CommitListener = Callable[[str], None]

# Table objects only used to build SQL; the tables themselves are created by each plugin's migrations.
_OUTBOX_METADATA = MetaData()


def outbox_for(plugin: str) -> Table:
    """The ``<plugin>_outbox`` table construct (for queries; migrations create the table)."""
    if not plugin:
        raise ValueError("an outbox needs a plugin name")
    return outbox_table(_OUTBOX_METADATA, plugin)


class SqlUnitOfWork(UnitOfWork):
    """A transaction on one ``AsyncSession`` plus the events emitted in it, written at commit time."""

    def __init__(self, session: AsyncSession, plugin: str, *, writable: bool = True) -> None:
        self.session = session
        self.plugin = plugin
        self.writable = writable
        self.events: list[Event] = []
        self._after_commit: list[Callable[[], Any]] = []

    def emit(
        self, event: str | DomainEvent, payload: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> Event:
        if isinstance(event, str):
            envelope = Event(type=event, payload=dict(payload or {}), key=key)
        else:
            envelope = to_event(event)
        if not self.writable:
            raise RuntimeError(f"cannot emit {envelope.type!r} from a read-only unit of work (a GET route)")
        if not self.plugin:
            raise ValueError(
                f"cannot emit {envelope.type!r}: open the unit of work with unit_of_work(plugin=...) "
                "so the event has an outbox"
            )
        if not envelope.type.startswith(f"{self.plugin}."):
            raise ValueError(
                f"event type {envelope.type!r} must start with its plugin's name, '{self.plugin}.'"
            )
        self.events.append(envelope)
        return envelope

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self._after_commit.append(callback)

    async def upsert(
        self,
        table: Any,
        values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        conflict: Sequence[str],
        update: Sequence[str] | None = None,
    ) -> None:
        if not self.writable:
            raise RuntimeError("cannot write from a read-only unit of work (a GET route)")
        rows = [dict(values)] if isinstance(values, Mapping) else [dict(v) for v in values]
        if not rows:
            return
        target = getattr(table, "__table__", table)
        name = self.session.get_bind().dialect.name
        statement: Any
        if name == "postgresql":
            statement = postgresql_insert(target).values(rows)
        elif name == "sqlite":
            statement = sqlite_insert(target).values(rows)
        else:
            raise RuntimeError(f"upsert is not available on {name}")
        if update:
            statement = statement.on_conflict_do_update(
                index_elements=list(conflict), set_={c: statement.excluded[c] for c in update}
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
        await self.session.execute(statement)

    async def write_outbox(self) -> None:
        """Insert the emitted events into the plugin's outbox, in the order they were emitted."""
        if not self.events:
            return
        rows = [
            {
                "event_id": event.id,
                "event_type": event.type,
                "event_key": event.key,
                "payload": dict(event.payload),
                "occurred_at": event.occurred_at,
            }
            for event in self.events
        ]
        # One statement per row keeps seq in emission order (executemany ordering is driver-defined).
        table = outbox_for(self.plugin)
        for row in rows:
            await self.session.execute(insert(table).values(**row))

    async def run_after_commit(self) -> None:
        """The callbacks of :meth:`after_commit`, in order; a failure is logged and the others still run."""
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("an after-commit callback of plugin %s failed", self.plugin or "-")


class SqlAlchemyDatabase(Database):
    """A :class:`Database` on an ``AsyncEngine``; subclasses build the engine for their dialect.

    ``setting`` is the environment variable that chose ``url``; it is named in start-up errors.
    """

    #: Seconds ``start()`` waits for the first connection.
    connect_timeout: ClassVar[float] = 10.0

    def __init__(self, url: str, *, setting: str = "WEALIST_DATABASE_URL", **engine_options: Any) -> None:
        self.url = url
        self.setting = setting
        # A failing statement's log line and exception never carry its parameters: they hold request values
        # (emails, names, tokens).
        engine_options.setdefault("hide_parameters", True)
        self._engine = self._create_engine(url, engine_options)
        self._sessions = async_sessionmaker(
            self._unit_of_work_bind(self._engine), expire_on_commit=False, autoflush=True
        )
        self._commit_listeners: list[CommitListener] = []

    # ----------------------------------------------------------------------------------- for subclasses

    def _create_engine(self, url: str, options: Mapping[str, Any]) -> AsyncEngine:
        """Build the engine; subclasses add dialect options and connect events."""
        return create_async_engine(url, **options)

    def _unit_of_work_bind(self, engine: AsyncEngine) -> AsyncEngine:
        """The engine sessions of units of work use (SQLite asks for ``BEGIN IMMEDIATE`` through it)."""
        return engine

    def _prepare(self) -> None:
        """Local set-up before the first connection (SQLite creates the database's folder)."""

    def _unavailable_fix(self) -> str:
        """The end of the sentence raised when ``start()`` cannot connect: what the operator should do."""
        return f"start the database server or set {self.setting} to one that runs"

    # -------------------------------------------------------------------------------------- the port

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextlib.asynccontextmanager
    async def unit_of_work(self, *, plugin: str = "") -> AsyncIterator[SqlUnitOfWork]:
        # An unreachable server is DependencyUnavailable("database"): 503 with Retry-After, never 500.
        with translate_outages("database", is_outage=is_database_outage):
            async with self._sessions() as session:
                uow = SqlUnitOfWork(session, plugin)
                try:
                    yield uow
                    await uow.write_outbox()
                    await session.commit()
                except BaseException as exc:
                    # Also on cancellation: the connection must go back to the pool without a transaction.
                    try:
                        await session.rollback()
                    except Exception:  # a dead connection: the original error is the one worth raising
                        outage = isinstance(exc, Exception) and is_database_outage(exc)
                        logger.warning(
                            "rollback failed after an error in a unit of work", exc_info=not outage
                        )
                    raise
        if uow.events:
            self._notify_commit(plugin)
        await uow.run_after_commit()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        with translate_outages("database", is_outage=is_database_outage):
            async with self.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                async with AsyncSession(bind=connection, expire_on_commit=False, autoflush=False) as session:
                    yield session

    @contextlib.asynccontextmanager
    async def reading_unit_of_work(self, *, plugin: str = "") -> AsyncIterator[SqlUnitOfWork]:
        """A read-only unit of work on :meth:`reading`'s session: what a GET route is given."""
        async with self.reading() as session:
            uow = SqlUnitOfWork(session, plugin, writable=False)
            yield uow
        await uow.run_after_commit()

    def add_commit_listener(self, callback: CommitListener) -> None:
        """Call ``callback(plugin)`` after every commit that wrote events to ``plugin``'s outbox."""
        self._commit_listeners.append(callback)

    def remove_commit_listener(self, callback: CommitListener) -> None:
        with contextlib.suppress(ValueError):
            self._commit_listeners.remove(callback)

    def _notify_commit(self, plugin: str) -> None:
        for callback in list(self._commit_listeners):
            try:
                callback(plugin)
            except Exception:
                # The transaction is committed; a listener's failure must not turn it into an error.
                logger.exception("commit listener %r failed for plugin %s", callback, plugin)

    # --------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            self._prepare()
            async with asyncio.timeout(self.connect_timeout):
                async with self._engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:
            raise AdapterUnavailable(
                f"{self.setting} is {mask_url(self.url)}, which cannot be reached ({_reason(exc)}); "
                f"{self._unavailable_fix()}."
            ) from exc

    async def check(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._engine.dispose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.url)!r})"


def _reason(exc: BaseException) -> str:
    """A short, single-line reason for a connection failure (without SQLAlchemy's SQL and links)."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    while cause.__cause__ is not None:  # the driver's own exception, not SQLAlchemy's adaptation of it
        cause = cause.__cause__
    message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    message = message.rstrip(".")
    name = type(cause).__name__
    return f"{name}: {message}" if message else name
