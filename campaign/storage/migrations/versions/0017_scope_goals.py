"""goals and milestones of a campaign and of the whole network; stretch goals

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:20:00

``scope_goals`` keeps one row per scope that is not an appeal (``campaign:torture``, ``all``):
its goal, its milestones and the step by which a reached goal moves on (a stretch goal).  An
appeal keeps its goal and milestones on its own row and gains ``stretch_step``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from campaign.storage.types import UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: recreating "appeals" would trip the foreign keys that point at it.
    op.add_column("appeals", sa.Column("stretch_step", sa.Integer(), nullable=True))
    op.create_table(
        "scope_goals",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("goal", sa.BigInteger(), nullable=True),
        sa.Column("milestones", sa.JSON(), nullable=True),
        sa.Column("stretch_step", sa.Integer(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_scope_goals")),
    )


def downgrade() -> None:
    op.drop_table("scope_goals")
    op.drop_column("appeals", "stretch_step")
