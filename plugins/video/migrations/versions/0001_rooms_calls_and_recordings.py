"""The video plugin's tables: rooms, participations, calls and recordings (`wealist migrate --make`).

Revision ID: video_0001
Revises:
Create Date: 2026-12-03 18:40:01.551702
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wealist_core.migrations import create_outbox_table, drop_outbox_table

# Revision identifiers, used by Alembic. A plugin's first revision carries its branch label (the plugin's
# name) and creates its outbox (create_outbox_table), which the plugin's metadata does not describe.
revision: str = "video_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("video",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_table(op, "video")
    op.create_table(
        "video_room",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_room")),
    )
    with op.batch_alter_table("video_room", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_room_workspace_id_status_created_at_id"),
            ["workspace_id", "status", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "video_call",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("transcript_by", sa.Uuid(), nullable=True),
        sa.Column("transcript_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["video_room.id"], name=op.f("fk_video_call_room_id_video_room"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_call")),
        sa.UniqueConstraint("room_id", name=op.f("uq_video_call_room_id")),
    )
    with op.batch_alter_table("video_call", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_call_workspace_id_ended_at_id"),
            ["workspace_id", "ended_at", "id"],
            unique=False,
        )

    op.create_table(
        "video_participation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["video_room.id"],
            name=op.f("fk_video_participation_room_id_video_room"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_participation")),
    )
    with op.batch_alter_table("video_participation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_participation_room_id_user_id"), ["room_id", "user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_video_participation_user_id"), ["user_id"], unique=False)

    op.create_table(
        "video_recording",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column("egress_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("key", sa.String(length=500), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["video_room.id"],
            name=op.f("fk_video_recording_room_id_video_room"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_recording")),
        sa.UniqueConstraint("egress_id", name=op.f("uq_video_recording_egress_id")),
    )
    with op.batch_alter_table("video_recording", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_recording_room_id_started_at"), ["room_id", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("video_recording", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_recording_room_id_started_at"))

    op.drop_table("video_recording")
    with op.batch_alter_table("video_participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_participation_user_id"))
        batch_op.drop_index(batch_op.f("ix_video_participation_room_id_user_id"))

    op.drop_table("video_participation")
    with op.batch_alter_table("video_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_call_workspace_id_ended_at_id"))

    op.drop_table("video_call")
    with op.batch_alter_table("video_room", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_room_workspace_id_status_created_at_id"))

    op.drop_table("video_room")
    drop_outbox_table(op, "video")
