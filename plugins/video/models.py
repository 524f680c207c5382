"""The video plugin's tables: rooms, who was in them and when, the call record each ended room leaves, and
recordings.

A room is a call while it is ``ACTIVE``; ending it writes a :class:`Call` (the history) and closes every
open :class:`Participation`. A participation is one stay of one member in a room: granted at join, connected
when LiveKit says so (``joined_at``), closed at leave (``left_at``); rejoining after leaving opens another.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, plugin_metadata, utcnow

__all__ = ["ACTIVE", "ENDED", "Base", "Call", "Participation", "Recording", "Room", "metadata"]

metadata = plugin_metadata()

ACTIVE = "ACTIVE"
ENDED = "ENDED"


class Base(DeclarativeBase):
    metadata = metadata


class Room(Base):
    """A video room of a workspace, optionally started from a chat or a project."""

    __tablename__ = "video_room"
    __table_args__ = (Index(None, "workspace_id", "status", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=ACTIVE)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    chat_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class Participation(Base):
    """One stay of a member in a room."""

    __tablename__ = "video_participation"
    __table_args__ = (Index(None, "room_id", "user_id"), Index(None, "user_id"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Room.id, ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200), default="")
    granted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    joined_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    left_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Call(Base):
    """What an ended room leaves in the history: when it ran, how long, and its transcript."""

    __tablename__ = "video_call"
    __table_args__ = (Index(None, "workspace_id", "ended_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Room.id, ondelete="CASCADE"), unique=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    transcript_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    transcript_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Recording(Base):
    """A recording of a room through LiveKit Egress, written to the blob store under ``video/<room id>/``."""

    __tablename__ = "video_recording"
    __table_args__ = (Index(None, "room_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Room.id, ondelete="CASCADE"))
    egress_id: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    key: Mapped[str | None] = mapped_column(String(500), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(String(500), default="")
