"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
% if not down_revision and branch_labels:

from wealist_core.migrations import create_outbox_table, drop_outbox_table
% endif
${imports if imports else ""}

# Revision identifiers, used by Alembic. A plugin's first revision carries its branch label (the plugin's
# name) and creates its outbox (create_outbox_table), which the plugin's metadata does not describe.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
% if not down_revision and branch_labels:
    create_outbox_table(op, ${repr(branch_labels if isinstance(branch_labels, str) else list(branch_labels)[0])})
% endif
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
% if not down_revision and branch_labels:
    drop_outbox_table(op, ${repr(branch_labels if isinstance(branch_labels, str) else list(branch_labels)[0])})
% endif
