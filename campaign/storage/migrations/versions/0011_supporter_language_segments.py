"""supporters' language, and the segments each outgoing text costs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 06:20:00

A supporter's language (ISO 639-1, or none yet) picks the version of each text sent to them;
the outbox keeps how many SMS segments a text costs as the network counts them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: recreating these tables would trip the foreign keys that
    # point at them (SQLite adds and drops columns in place since 3.35).
    op.add_column("supporters", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("outbox", sa.Column("segments", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "segments")
    op.drop_column("supporters", "language")
