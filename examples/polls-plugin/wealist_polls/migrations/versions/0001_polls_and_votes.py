"""Polls and votes.

Revision ID: polls_0001
Revises:
Create Date: 2026-12-02 20:36:13.822860

Written by ``wealist migrate --make polls -m "polls and votes"``; the UTC columns are spelled
``sa.DateTime(timezone=True)`` (what ``UtcDateTime`` is in the database) and the layout tidied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wealist_core.migrations import create_outbox_table, drop_outbox_table

revision: str = "polls_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("polls",)
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    create_outbox_table(op, "polls")
    op.create_table(
        "polls_poll",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("closes_at", nullable=True),
        _time("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls_poll")),
    )
    op.create_index(op.f("ix_polls_poll_closes_at"), "polls_poll", ["closes_at"])
    op.create_index(
        op.f("ix_polls_poll_workspace_id_created_at_id"), "polls_poll", ["workspace_id", "created_at", "id"]
    )
    op.create_table(
        "polls_vote",
        sa.Column("poll_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("option", sa.String(length=100), nullable=False),
        _time("voted_at"),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls_poll.id"], name=op.f("fk_polls_vote_poll_id_polls_poll"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("poll_id", "user_id", name=op.f("pk_polls_vote")),
    )


def downgrade() -> None:
    op.drop_table("polls_vote")
    op.drop_index(op.f("ix_polls_poll_workspace_id_created_at_id"), table_name="polls_poll")
    op.drop_index(op.f("ix_polls_poll_closes_at"), table_name="polls_poll")
    op.drop_table("polls_poll")
    drop_outbox_table(op, "polls")
