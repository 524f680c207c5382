"""What plugins register about their tables, the column types and naming every plugin shares, and the outbox.

A plugin builds its metadata with :func:`plugin_metadata` (one constraint naming convention everywhere, so
migrations name constraints the same way on SQLite and PostgreSQL), stores times in :class:`UtcDateTime`
columns and stamps them with :func:`utcnow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "NAMING_CONVENTION",
    "Clock",
    "ModelRegistration",
    "UtcDateTime",
    "outbox_table",
    "plugin_metadata",
    "utcnow",
]

#: Constraint and index names of every plugin's tables (``ix_board_task_column_id_rank``).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def plugin_metadata() -> MetaData:
    """A ``MetaData`` with the shared naming convention: the one every plugin's models use."""
    return MetaData(naming_convention=dict(NAMING_CONVENTION))


def utcnow() -> dt.datetime:
    """Now, timezone-aware, in UTC: what every stored time is."""
    return dt.datetime.now(dt.UTC)


#: What a service takes to tell the time (``clock: Clock = utcnow``), so that a test can choose it.
Clock = Callable[[], dt.datetime]


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on both databases.

    SQLite keeps no zone, so the value is stored as naive UTC and given back aware; PostgreSQL stores
    ``timestamptz``. A naive datetime is refused on the way in: it would be ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone-aware UTC time")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class ModelRegistration:
    """A plugin's SQLAlchemy metadata and the folder of its Alembic migrations (its own branch)."""

    plugin: str
    metadata: MetaData
    migrations: Path | None = None


def outbox_table(metadata: MetaData, plugin: str) -> Table:
    """The plugin's outbox ``<plugin>_outbox``: events written in the transaction of the change that caused
    them, relayed to the event bus after commit, deleted once relayed."""
    name = f"{plugin}_outbox"
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(120), nullable=False),
        Column("event_key", String(120), nullable=True),
        Column("payload", JSON, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("error", Text, nullable=True),
    )
