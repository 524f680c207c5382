"""The auth plugin's tables: credentials, second factors, external identities and signing keys.

Users themselves belong to the user plugin; rows here refer to them by id only (no foreign key across
plugins). Times are timezone-aware UTC, in the core's ``UtcDateTime`` columns (aware on both databases).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, MetaData, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wealist_core import UtcDateTime, utcnow

__all__ = ["METADATA", "Account", "Base", "Identity", "RecoveryCode", "SigningKeyRow"]

# The constraint names of auth's first migration predate the shared naming convention; they stay as they
# are in the database, so the metadata keeps SQLAlchemy's defaults rather than renaming them.
METADATA = MetaData()


class Base(DeclarativeBase):
    metadata = METADATA


class Account(Base):
    """What auth knows of a user: the email they sign in with, the password hash and the TOTP factor."""

    __tablename__ = "auth_account"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: signs in through OIDC only
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    totp_secret: Mapped[str | None] = mapped_column(Text)  # sealed; set once enrolment is confirmed
    totp_pending_secret: Mapped[str | None] = mapped_column(Text)  # sealed; between enroll and confirm
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # the last accepted time step: no replay
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RecoveryCode(Base):
    """A single-use TOTP recovery code, kept as a keyed hash."""

    __tablename__ = "auth_recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_auth_recovery_code_user_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("auth_account.user_id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Identity(Base):
    """An account at an OpenID provider (``provider``, ``subject``) linked to a user."""

    __tablename__ = "auth_identity"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_auth_identity_provider_subject"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("auth_account.user_id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SigningKeyRow(Base):
    """An Ed25519 key that signs access tokens. The newest is current; an older one stays published until
    the tokens it signed have expired (see :mod:`wealist_plugins.auth.keys`)."""

    __tablename__ = "auth_signing_key"
    __table_args__ = (Index("ix_auth_signing_key_created_at", "created_at"),)

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)  # base64url raw public key (the JWK's "x")
    private_key: Mapped[str] = mapped_column(Text)  # sealed raw private key
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
