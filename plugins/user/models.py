"""The user plugin's tables: every name starts with ``user_``; ids are UUIDs, times are aware UTC.

The models are portable across SQLite and PostgreSQL. The default profile is the one whose
``workspace_id`` is :data:`DEFAULT_SCOPE` (the nil UUID), so "one profile per user per scope" is a plain
primary key on both databases (NULL would never collide in a unique index).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, plugin_metadata, uploads_table, utcnow

__all__ = [
    "DEFAULT_SCOPE",
    "USER_UPLOADS",
    "Base",
    "Invitation",
    "JoinRequest",
    "Member",
    "Profile",
    "User",
    "UtcDateTime",
    "Workspace",
    "metadata",
    "utcnow",
]

#: The ``workspace_id`` of a user's default profile.
DEFAULT_SCOPE = uuid.UUID(int=0)

metadata = plugin_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class User(Base):
    """A person. Credentials live in the auth plugin; this row is who they are."""

    __tablename__ = "user_user"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised: trimmed, lower-cased
    name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(16), default="ko")
    default_workspace_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Workspace(Base):
    """A team. Soft-deleted workspaces keep their rows but answer 404 to everyone."""

    __tablename__ = "user_workspace"
    __table_args__ = (Index(None, "is_public", "name_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    # casefold()ed name: searching and ordering by name behave the same on SQLite and PostgreSQL.
    name_key: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    only_admins_invite: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Member(Base):
    """A user's membership of a workspace, with a role (``OWNER``, ``ADMIN``, ``MEMBER``)."""

    __tablename__ = "user_member"
    __table_args__ = (Index(None, "user_id", "joined_at"), Index(None, "workspace_id", "joined_at"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_workspace.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Invitation(Base):
    """An invitation of an email address that has no account yet. Only the token's SHA-256 is kept."""

    __tablename__ = "user_invitation"
    __table_args__ = (Index(None, "email", "status"), Index(None, "workspace_id", "status", "created_at"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_workspace.id"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING, ACCEPTED, REVOKED
    invited_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class JoinRequest(Base):
    """A request to join a public workspace: ``PENDING`` until an owner or admin decides."""

    __tablename__ = "user_join_request"
    __table_args__ = (Index(None, "workspace_id", "status", "created_at"), Index(None, "user_id", "status"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_workspace.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_user.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING, APPROVED, REJECTED
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class Profile(Base):
    """How a user appears in one workspace (or everywhere, for the default profile)."""

    __tablename__ = "user_profile"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("user_user.id"), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # DEFAULT_SCOPE: the default
    nickname: Mapped[str] = mapped_column(String(50))
    avatar_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


#: Avatar uploads (purpose ``avatar``) on the core's upload flow: issued, confirmed, attached, purged.
USER_UPLOADS = uploads_table(metadata, "user")
