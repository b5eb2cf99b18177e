"""an appeal kept off the public counter and the embeddable widget

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-03 06:40:00

A private appeal answers 404 on /public and /embed and is left out of public campaign
totals, for cases where publicity would endanger someone; screens and the on-air feeds
(which need a token) still show it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: recreating "appeals" would trip the foreign keys that point at it.
    op.add_column("appeals", sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("appeals", "private")
