"""The chat plugin's tables: chats, their participants, messages with their edits and reactions, uploads.

A chat's ``last_seq`` is its message counter: a message takes ``last_seq + 1`` in the same statement that
raises it (``UPDATE ... RETURNING``), so two senders never get one number, on SQLite or PostgreSQL.
Search: PostgreSQL keeps a ``tsvector`` beside each message (``search_vector``, GIN-indexed); the embedded
SQLite keeps an FTS5 table filled by triggers (created by the migration, not a model).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, plugin_metadata, uploads_table, utcnow

__all__ = ["Base", "Chat", "Edit", "Message", "Participant", "Reaction", "metadata", "uploads"]

metadata = plugin_metadata()
uploads = uploads_table(metadata, "chat")

#: The search column: a ``tsvector`` on PostgreSQL; on SQLite the FTS5 table does the work and it stays null.
SearchVector = TSVECTOR().with_variant(Text(), "sqlite")


class Base(DeclarativeBase):
    metadata = metadata


class Chat(Base):
    """A direct message between two members (one per pair: ``dm_key``), a group or a project channel."""

    __tablename__ = "chat_chat"
    __table_args__ = (
        UniqueConstraint("workspace_id", "dm_key"),
        Index(None, "workspace_id", "project_id"),
        Index(None, "workspace_id", "activity_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(10))  # DM, GROUP, PROJECT
    name: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(1000), default="")
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    dm_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The counter of changes to its messages (edits, deletes, reactions), for resuming them.
    last_change: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    activity_at: Mapped[dt.datetime] = mapped_column(
        UtcDateTime, default=utcnow
    )  # the last message, or creation


class Participant(Base):
    """Someone in a chat, with the last sequence number they have read."""

    __tablename__ = "chat_participant"
    __table_args__ = (Index(None, "user_id"),)

    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Chat.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    role: Mapped[str] = mapped_column(String(10), default="MEMBER")  # ADMIN or MEMBER
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    joined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Message(Base):
    """A message: ``seq`` is its place in its chat. Deleting one keeps its row (and sequence) but no text."""

    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        UniqueConstraint("chat_id", "sender_id", "client_id"),
        Index(None, "reply_to_id"),
        Index(None, "chat_id", "change_seq"),
        Index(None, "search_vector", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Chat.id, ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    content: Mapped[str] = mapped_column(Text, default="")
    reply_to_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    change_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # its chat's last_change then
    search_vector: Mapped[str | None] = mapped_column(SearchVector, nullable=True)


class Edit(Base):
    """A message's earlier text, kept when it was edited."""

    __tablename__ = "chat_edit"
    __table_args__ = (Index(None, "message_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Message.id, ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Reaction(Base):
    """One member's emoji on a message."""

    __tablename__ = "chat_reaction"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(Message.id, ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    emoji: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
