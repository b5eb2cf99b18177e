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
    # Existing data: fill the new tables from the raw rows, once, with this migration's own SQL
    # (an old migration must not run today's application code).
    _fill(op.get_bind().dialect.name)


def _fill(dialect: str) -> None:
    if dialect == "postgresql":

        def units(column: str, seconds: int) -> str:
            return f"CAST(CAST(floor(extract(epoch FROM {column})) AS BIGINT) / {seconds} AS INTEGER)"

        def month(column: str) -> str:
            utc = f"timezone('UTC', {column})"
            return f"CAST((extract(year FROM {utc}) - 1970) * 12 + extract(month FROM {utc}) - 1 AS INTEGER)"

    else:  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC

        def units(column: str, seconds: int) -> str:
            return f"CAST(CAST(strftime('%s', {column}) AS BIGINT) / {seconds} AS INTEGER)"

        def month(column: str) -> str:
            return (
                f"CAST((CAST(strftime('%Y', {column}) AS INTEGER) - 1970) * 12"
                f" + CAST(strftime('%m', {column}) AS INTEGER) - 1 AS INTEGER)"
            )

    for table, unit, bucket in (
        ("signature_hours", "hour", units("received_at", 3600)),
        ("signature_days", "day", units("received_at", 86400)),
        ("signature_months", "month", month("received_at")),
    ):
        op.execute(
            f"INSERT INTO {table} ({unit}, appeal_id, channel, provider, country, count)"
            f" SELECT {bucket}, appeal_id, channel, provider, country, count(*) FROM signatures"
            f" GROUP BY {bucket}, appeal_id, channel, provider, country"
        )
    first_join = (
        "(SELECT m.appeal_id FROM inbound_messages AS m WHERE m.supporter_id = s.id AND m.intent = 'join'"
        " ORDER BY m.received_at, m.id LIMIT 1)"
    )
    op.execute(
        "INSERT INTO member_hours (hour, appeal_id, country, count)"
        " SELECT hour, appeal_id, country, count(*) FROM ("
        f"  SELECT {units('s.member_since', 3600)} AS hour, coalesce({first_join}, 0) AS appeal_id,"
        "   s.country AS country FROM supporters AS s WHERE s.member_since IS NOT NULL"
        " ) AS joined GROUP BY hour, appeal_id, country"
    )
    hour = units("occurred_at", 3600)
    op.execute(
        "INSERT INTO social_hours (hour, campaign_id, platform, kind, count)"
        f" SELECT {hour}, campaign_id, platform, kind, count(*) FROM social_events"
        f" GROUP BY {hour}, campaign_id, platform, kind"
    )


def downgrade() -> None:
    for table in ("social_hours", "member_hours", "signature_months", "signature_days", "signature_hours"):
        op.drop_table(table)
