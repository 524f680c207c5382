"""A change sequence per chat: edits, deletes and reactions get a number, so a resuming socket replays them.

Revision ID: chat_0002
Revises: chat_0001
Create Date: 2026-12-03 19:31:18.614420

Written by ``wealist migrate --make chat -m "change sequence"``; plain ``add_column`` rather than a batch, so
SQLite keeps the table (and its search triggers) instead of copying it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "chat_0002"
down_revision: str | Sequence[str] | None = "chat_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chat_chat", sa.Column("last_change", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("chat_message", sa.Column("change_seq", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_chat_message_chat_id_change_seq"), "chat_message", ["chat_id", "change_seq"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_message_chat_id_change_seq"), table_name="chat_message")
    if (
        op.get_bind().dialect.name == "sqlite"
    ):  # natively (3.35+): a batch would copy the table, losing triggers
        op.execute("ALTER TABLE chat_message DROP COLUMN change_seq")
        op.execute("ALTER TABLE chat_chat DROP COLUMN last_change")
    else:
        op.drop_column("chat_message", "change_seq")
        op.drop_column("chat_chat", "last_change")
