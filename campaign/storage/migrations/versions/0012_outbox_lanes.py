"""outbox lanes: replies before bulk texts; texts in doubt

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:40:00

Each text gets a lane, ``reply`` (an answer to a supporter's own text) or ``bulk`` (alerts,
outcome messages), and the due-texts index gains it: the sender takes the next few replies,
then the next few bulk texts, each one index range however many of the other lane wait
(ordered by id too, as the 100,000 texts of an alert share one due time).  This index replaces
``ix_outbox_due``.  Texts a stopped sender held become ``unknown`` (a status, no column).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BULK_KINDS = ("alert", "outcome")  # as campaign.storage.models.BULK_KINDS on the day of this migration


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.String(length=8), nullable=False, server_default="reply"))
    outbox = sa.table("outbox", sa.column("kind", sa.String()), sa.column("lane", sa.String()))
    op.execute(outbox.update().where(outbox.c.kind.in_(BULK_KINDS)).values(lane="bulk"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_lane_due", ["status", "lane", "scheduled_at", "id"], unique=False)


def downgrade() -> None:
    outbox = sa.table("outbox", sa.column("status", sa.String()), sa.column("error", sa.String()))
    # Before lanes there was no "unknown": such texts were failed, "interrupted".
    op.execute(
        outbox.update()
        .where(outbox.c.status == "unknown")
        .values(
            status="failed", error="interrupted while sending; not resent, so that it cannot arrive twice"
        )
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_lane_due")
        batch_op.create_index("ix_outbox_due", ["status", "scheduled_at"], unique=False)
        batch_op.drop_column("lane")
