"""What plugins register about their tables, and the outbox every plugin gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text

__all__ = ["ModelRegistration", "outbox_table"]


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
