"""The user plugin's tables: users, workspaces, members, invitations, join requests, profiles, avatar uploads.

Revision ID: u0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wealist_core.migrations import create_outbox_table, drop_outbox_table

revision: str = "u0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("user",)
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_outbox_table(op, "user")
    op.create_table(
        "user_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("default_workspace_id", sa.Uuid(), nullable=True),
        _time("created_at"),
        _time("updated_at"),
        _time("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_user_email")),
    )
    op.create_table(
        "user_workspace",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("only_admins_invite", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_workspace")),
    )
    op.create_index(op.f("ix_user_workspace_is_public_name_key"), "user_workspace", ["is_public", "name_key"])
    op.create_table(
        "user_member",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _time("joined_at"),
        sa.ForeignKeyConstraint(["user_id"], ["user_user.id"], name=op.f("fk_user_member_user_id_user_user")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["user_workspace.id"], name=op.f("fk_user_member_workspace_id_user_workspace")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_user_member")),
    )
    op.create_index(op.f("ix_user_member_user_id_joined_at"), "user_member", ["user_id", "joined_at"])
    op.create_index(
        op.f("ix_user_member_workspace_id_joined_at"), "user_member", ["workspace_id", "joined_at"]
    )
    op.create_table(
        "user_invitation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=False),
        _time("created_at"),
        _time("expires_at"),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        _time("decided_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["user_workspace.id"],
            name=op.f("fk_user_invitation_workspace_id_user_workspace"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_invitation_token_hash")),
    )
    op.create_index(op.f("ix_user_invitation_email_status"), "user_invitation", ["email", "status"])
    op.create_index(
        op.f("ix_user_invitation_workspace_id_status_created_at"),
        "user_invitation",
        ["workspace_id", "status", "created_at"],
    )
    op.create_table(
        "user_join_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _time("created_at"),
        _time("decided_at", nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_user.id"], name=op.f("fk_user_join_request_user_id_user_user")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["user_workspace.id"],
            name=op.f("fk_user_join_request_workspace_id_user_workspace"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_join_request")),
    )
    op.create_index(op.f("ix_user_join_request_user_id_status"), "user_join_request", ["user_id", "status"])
    op.create_index(
        op.f("ix_user_join_request_workspace_id_status_created_at"),
        "user_join_request",
        ["workspace_id", "status", "created_at"],
    )
    op.create_table(
        "user_profile",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("nickname", sa.String(length=50), nullable=False),
        sa.Column("avatar_key", sa.String(length=300), nullable=True),
        _time("updated_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_user.id"], name=op.f("fk_user_profile_user_id_user_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "workspace_id", name=op.f("pk_user_profile")),
    )
    op.create_table(
        "user_avatar_upload",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("expires_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_user.id"], name=op.f("fk_user_avatar_upload_user_id_user_user")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_user_avatar_upload")),
    )


def downgrade() -> None:
    op.drop_table("user_avatar_upload")
    op.drop_table("user_profile")
    op.drop_table("user_join_request")
    op.drop_table("user_invitation")
    op.drop_table("user_member")
    op.drop_table("user_workspace")
    op.drop_table("user_user")
    drop_outbox_table(op, "user")
