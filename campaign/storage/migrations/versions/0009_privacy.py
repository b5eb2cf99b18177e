"""privacy: when each supporter was last active (for retention), and when a number was erased

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from campaign.storage.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_active_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", UtcDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_supporters_last_active_at"), ["last_active_at"], unique=False)
    # Existing supporters were last active at their latest signature or text.
    op.execute(
        """
        UPDATE supporters SET last_active_at = (
            SELECT MAX(t.at) FROM (
                SELECT supporters.first_seen_at AS at
                UNION ALL
                SELECT MAX(received_at) FROM signatures WHERE signatures.supporter_id = supporters.id
                UNION ALL
                SELECT MAX(received_at) FROM inbound_messages
                WHERE inbound_messages.supporter_id = supporters.id
            ) AS t
        )
        """
    )


def downgrade() -> None:
    # Not in a batch: recreating the table would trip the foreign keys that point at it.
    op.drop_index("ix_supporters_last_active_at", table_name="supporters")
    op.drop_column("supporters", "erased_at")
    op.drop_column("supporters", "last_active_at")
