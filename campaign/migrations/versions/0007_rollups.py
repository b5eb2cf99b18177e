"""rollups: signatures per hour, day and month, members and social activity per hour

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, unit in (
        ("signature_hours", "hour"),
        ("signature_days", "day"),
        ("signature_months", "month"),
    ):
        op.create_table(
            table,
            sa.Column(unit, sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("appeal_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=False),
            sa.Column("provider", sa.String(length=32), nullable=False),
            sa.Column("country", sa.String(length=2), nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint(
                unit, "appeal_id", "channel", "provider", "country", name=op.f(f"pk_{table}")
            ),
        )
        op.create_index(f"ix_{table}_appeal_{unit}", table, ["appeal_id", unit], unique=False)
    op.create_table(
        "member_hours",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("appeal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "appeal_id", "country", name=op.f("pk_member_hours")),
    )
    op.create_table(
        "social_hours",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "campaign_id", "platform", "kind", name=op.f("pk_social_hours")),
    )
    # Existing data: fill the new tables from the raw rows, once.
    from campaign.rollups import rebuild_on

    rebuild_on(op.get_bind())


def downgrade() -> None:
    for table in ("social_hours", "member_hours", "signature_months", "signature_days", "signature_hours"):
        op.drop_table(table)
