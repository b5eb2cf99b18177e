"""counter shards: tallies, campaign tallies and rollups get a shard in their key

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:30:00

Every running count becomes one row per shard (see campaign.storage.shards): concurrent
transactions add to different shards of the same count, so they no longer wait on one row.
The figure is the sum over the shards.  The rows there are become shard 0.  A primary key
cannot be changed in place on SQLite, so each table is copied aside, made again with the new
key and filled back; going down, the shards are summed into the old shape the same way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _columns(table: str) -> list[tuple[str, Any]]:
    """The key columns of each table, in key order (``count`` follows them)."""
    rollup = [
        ("appeal_id", sa.Integer()),
        ("channel", sa.String(length=16)),
        ("provider", sa.String(length=32)),
        ("country", sa.String(length=2)),
    ]
    return {
        "tallies": [
            ("appeal_id", sa.Integer()),
            ("kind", sa.String(length=16)),
            ("key", sa.String(length=32)),
        ],
        "campaign_tallies": [
            ("campaign_id", sa.Integer()),
            ("kind", sa.String(length=16)),
            ("key", sa.String(length=64)),
        ],
        "signature_hours": [("hour", sa.Integer()), *rollup],
        "signature_days": [("day", sa.Integer()), *rollup],
        "signature_months": [("month", sa.Integer()), *rollup],
        "member_hours": [
            ("hour", sa.Integer()),
            ("appeal_id", sa.Integer()),
            ("country", sa.String(length=2)),
        ],
        "social_hours": [
            ("hour", sa.Integer()),
            ("campaign_id", sa.Integer()),
            ("platform", sa.String(length=16)),
            ("kind", sa.String(length=16)),
        ],
    }[table]


TABLES = (
    "tallies",
    "campaign_tallies",
    "signature_hours",
    "signature_days",
    "signature_months",
    "member_hours",
    "social_hours",
)
INDEXED = {"signature_hours": "hour", "signature_days": "day", "signature_months": "month"}


def _make(table: str, sharded: bool) -> None:
    keys = _columns(table)
    columns = [sa.Column(name, kind, nullable=False, autoincrement=False) for name, kind in keys]
    key_names = [name for name, _ in keys]
    if sharded:
        columns.append(
            sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False, autoincrement=False)
        )
        key_names.append("shard")
    columns.append(sa.Column("count", sa.BigInteger(), nullable=False))
    op.create_table(table, *columns, sa.PrimaryKeyConstraint(*key_names, name=op.f(f"pk_{table}")))
    if table in INDEXED:
        unit = INDEXED[table]
        op.create_index(f"ix_{table}_appeal_{unit}", table, ["appeal_id", unit], unique=False)


def _reshape(table: str, sharded: bool) -> None:
    """Copy the rows aside, make the table again in the new shape, fill it back."""
    names = ", ".join(name for name, _ in _columns(table))
    aside = f"{table}_before_0016"
    op.execute(f"CREATE TABLE {aside} AS SELECT * FROM {table}")
    op.drop_table(table)
    _make(table, sharded)
    if sharded:
        op.execute(f"INSERT INTO {table} ({names}, shard, count) SELECT {names}, 0, count FROM {aside}")
    else:
        op.execute(
            f"INSERT INTO {table} ({names}, count) SELECT {names}, SUM(count) FROM {aside} GROUP BY {names}"
        )
    op.drop_table(aside)


def upgrade() -> None:
    for table in TABLES:
        _reshape(table, sharded=True)


def downgrade() -> None:
    for table in TABLES:
        _reshape(table, sharded=False)
