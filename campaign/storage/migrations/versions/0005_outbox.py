"""outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from campaign.storage.types import BigId, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("supporter_id", BigId, nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("batch", sa.String(length=40), nullable=True),
        sa.Column("dedupe_key", sa.String(length=96), nullable=True),
        sa.Column("template", sa.String(length=24), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("scheduled_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_outbox_appeal_id_appeals")),
        sa.ForeignKeyConstraint(
            ["supporter_id"], ["supporters.id"], name=op.f("fk_outbox_supporter_id_supporters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "scheduled_at"], unique=False)
        batch_op.create_index("ix_outbox_provider_message", ["provider", "provider_message_id"], unique=False)
        batch_op.create_index("ix_outbox_supporter", ["supporter_id"], unique=False)
        batch_op.create_index("ix_outbox_batch", ["batch"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox")
