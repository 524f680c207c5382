"""Avatar uploads move onto the core's upload flow: ``user_avatar_upload`` becomes ``user_upload``.

Keys a profile shows become ATTACHED to their user; the others stay PENDING, with the grace the old purge
gave them added to their expiry. The downgrade copies the avatar uploads back.

Revision ID: u0002
Revises: u0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wealist_core import UtcDateTime
from wealist_core.migrations import create_uploads_table, drop_uploads_table
from wealist_core.uploads import ATTACHED, PENDING, uploads_table

revision: str = "u0002"
down_revision: str | Sequence[str] | None = "u0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = sa.table(
    "user_avatar_upload",
    sa.column("key", sa.String),
    sa.column("user_id", sa.Uuid),
    sa.column("workspace_id", sa.Uuid),
    sa.column("content_type", sa.String),
    sa.column("size", sa.Integer),
    sa.column("created_at", UtcDateTime),
    sa.column("expires_at", UtcDateTime),
)
_PROFILE = sa.table("user_profile", sa.column("avatar_key", sa.String))
_GRACE = dt.timedelta(seconds=900)  # the default avatar_upload_ttl: what the old purge waited past expiry


def _id(key: str) -> uuid.UUID:
    # Keys end in <uuid hex><extension>: that stays the upload's id, as new keys have it.
    try:
        return uuid.UUID(hex=key.rsplit("/", 1)[-1].split(".", 1)[0])
    except ValueError:
        return uuid.uuid4()


def upgrade() -> None:
    create_uploads_table(op, "user")
    bind = op.get_bind()
    shown = set(
        bind.execute(sa.select(_PROFILE.c.avatar_key).where(_PROFILE.c.avatar_key.is_not(None))).scalars()
    )
    rows = []
    for old in bind.execute(sa.select(_OLD)).mappings():
        attached = old["key"] in shown
        rows.append(
            {
                "id": _id(old["key"]),
                "key": old["key"],
                "purpose": "avatar",
                "status": ATTACHED if attached else PENDING,
                "uploader_id": old["user_id"],
                "workspace_id": old["workspace_id"],
                "file_name": None,
                "content_type": old["content_type"],
                "size": old["size"],
                "owner_type": "user" if attached else None,
                "owner_id": str(old["user_id"]) if attached else None,
                "created_at": old["created_at"],
                "confirmed_at": old["created_at"] if attached else None,
                "attached_at": old["created_at"] if attached else None,
                "expires_at": None if attached else old["expires_at"] + _GRACE,
            }
        )
    if rows:
        op.bulk_insert(uploads_table(sa.MetaData(), "user"), rows)
    op.drop_table("user_avatar_upload")


def downgrade() -> None:
    op.create_table(
        "user_avatar_upload",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_user.id"], name=op.f("fk_user_avatar_upload_user_id_user_user")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_user_avatar_upload")),
    )
    new = uploads_table(sa.MetaData(), "user")
    rows = [
        {
            "key": r["key"],
            "user_id": r["uploader_id"],
            "workspace_id": r["workspace_id"],
            "content_type": r["content_type"],
            "size": r["size"],
            "created_at": r["created_at"],
            "expires_at": r["expires_at"] or r["created_at"],
        }
        for r in op.get_bind().execute(sa.select(new).where(new.c.purpose == "avatar")).mappings()
    ]
    if rows:
        op.bulk_insert(_OLD, rows)
    drop_uploads_table(op, "user")
