"""The noti plugin's tables: notifications, one per event and recipient, and preferences per type."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, plugin_metadata, utcnow

__all__ = ["Base", "Notification", "Preference", "metadata"]

metadata = plugin_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class Notification(Base):
    """Something that happened to ``recipient_id``. ``(event_id, recipient_id)`` is unique: an event
    delivered twice notifies once."""

    __tablename__ = "noti_notification"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id"),
        Index(None, "recipient_id", "created_at", "id"),
        Index(None, "recipient_id", "read_at"),
        Index(None, "mailed_at", "read_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    resource_type: Mapped[str] = mapped_column(String(30))
    resource_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    resource_name: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Preference(Base):
    """Whether ``type`` notifications reach ``user_id`` in the app and by mail; ``workspace_id`` None is
    the user's default for every workspace, a workspace's own row wins over it."""

    __tablename__ = "noti_preference"
    __table_args__ = (UniqueConstraint("user_id", "workspace_key", "type"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: The workspace id as text, or "" for the default (a unique constraint ignores NULLs).
    workspace_key: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(40))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
