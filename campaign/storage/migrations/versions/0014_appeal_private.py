"""an appeal kept off the public counter and the embeddable widget; appeals' milestones

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:40:00

A private appeal answers 404 on /public and /embed and is left out of public campaign
totals, for cases where publicity would endanger someone; screens and the on-air feeds
(which need a token) still show it.  An appeal's milestones are round numbers whose passing
is announced once: ``milestones_passed`` keeps one row per scope and milestone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from campaign.storage.types import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: recreating "appeals" would trip the foreign keys that point at it.
    op.add_column("appeals", sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("appeals", sa.Column("milestones", sa.JSON(), nullable=True))
    op.create_table(
        "milestones_passed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("milestone", sa.BigInteger(), nullable=False),
        sa.Column("passed_at", UtcDateTime(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones_passed")),
        sa.UniqueConstraint("scope", "milestone", name="uq_milestones_passed_scope_milestone"),
    )


def downgrade() -> None:
    op.drop_table("milestones_passed")
    op.drop_column("appeals", "milestones")
    op.drop_column("appeals", "private")
