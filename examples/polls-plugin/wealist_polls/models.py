"""The polls plugin's tables: a poll with its options, and one vote per member and poll.

The options are a JSON list on the poll: they never change after creation and are always read with it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, plugin_metadata, utcnow

__all__ = ["Base", "Poll", "Vote", "metadata"]

metadata = plugin_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Poll(Base):
    """A question asked in a workspace. Open until ``closed_at`` is set or ``closes_at`` has passed."""

    __tablename__ = "polls_poll"
    # The list's key after its filter; the closing job looks for due polls by closes_at.
    __table_args__ = (Index(None, "workspace_id", "created_at", "id"), Index(None, "closes_at"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    author_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def is_open(self, now: dt.datetime) -> bool:
        return self.closed_at is None and (self.closes_at is None or self.closes_at > now)


class Vote(Base):
    """A member's choice in a poll; voting again replaces it."""

    __tablename__ = "polls_vote"

    poll_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Poll.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    option: Mapped[str] = mapped_column(String(100))
    voted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
