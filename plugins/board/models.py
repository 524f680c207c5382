"""The board plugin's tables. Other plugins' rows (users, workspaces) are referred to by id only."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, plugin_metadata, uploads_table, utcnow

__all__ = [
    "Activity",
    "Base",
    "Board",
    "Column",
    "Comment",
    "Field",
    "FieldOption",
    "FieldValue",
    "JoinRequest",
    "Project",
    "ProjectMember",
    "Reminder",
    "Task",
    "TaskLabel",
    "TaskParticipant",
    "metadata",
    "uploads",
]

metadata = plugin_metadata()
uploads = uploads_table(metadata, "board")

# Ranks compare byte by byte on every database (see wealist_core.ranks).
_RANK = String(200).with_variant(String(200, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = metadata


class Project(Base):
    __tablename__ = "board_project"
    __table_args__ = (Index(None, "workspace_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    due_date: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    default_board_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ProjectMember(Base):
    __tablename__ = "board_project_member"
    __table_args__ = (Index(None, "user_id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(Project.id, ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    joined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class JoinRequest(Base):
    __tablename__ = "board_join_request"
    __table_args__ = (Index(None, "project_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Project.id, ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(10), default="PENDING")
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class Board(Base):
    __tablename__ = "board_board"
    __table_args__ = (Index(None, "project_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Project.id, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Column(Base):
    __tablename__ = "board_column"
    __table_args__ = (Index(None, "board_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Board.id, ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    color: Mapped[str] = mapped_column(String(7), default="#94A3B8")
    wip_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: Tasks here are done: no due-date reminders.
    is_done: Mapped[bool] = mapped_column(Boolean, default=False)


class Field(Base):
    """A custom field of a project's tasks; ``importance`` and ``role`` are made with every project."""

    __tablename__ = "board_field"
    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Project.id, ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class FieldOption(Base):
    __tablename__ = "board_field_option"
    __table_args__ = (UniqueConstraint("field_id", "value"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    field_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Field.id, ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(7), default="#94A3B8")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Task(Base):
    __tablename__ = "board_task"
    __table_args__ = (
        Index(None, "board_id", "column_id", "rank", "id"),
        Index(None, "assignee_id"),
        Index(None, "due_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Project.id, ondelete="CASCADE"))
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Board.id, ondelete="CASCADE"))
    column_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    rank: Mapped[str] = mapped_column(_RANK)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    start_date: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    due_date: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class TaskParticipant(Base):
    __tablename__ = "board_task_participant"
    __table_args__ = (Index(None, "user_id"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Task.id, ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class TaskLabel(Base):
    __tablename__ = "board_task_label"
    __table_args__ = (Index(None, "label"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Task.id, ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(50), primary_key=True)


class FieldValue(Base):
    """A task's value of a custom field: ``value`` as JSON, ``text`` its searchable form (for a multi select
    every option between bars, ``|a|b|``)."""

    __tablename__ = "board_field_value"
    __table_args__ = (Index(None, "field_id", "text"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Task.id, ondelete="CASCADE"), primary_key=True)
    field_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Field.id, ondelete="CASCADE"), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(String(500))


class Comment(Base):
    __tablename__ = "board_comment"
    __table_args__ = (Index(None, "task_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Task.id, ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    content: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Activity(Base):
    __tablename__ = "board_activity"
    __table_args__ = (Index(None, "project_id", "at", "id"), Index(None, "task_id", "at", "id"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(60), nullable=True)
    from_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    to_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Reminder(Base):
    """A due-date reminder sent: once per task, kind and due date."""

    __tablename__ = "board_reminder"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Task.id, ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    due_date: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
