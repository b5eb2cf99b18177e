"""a screen token's playlist: a wall screen that rotates through pages and scopes

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:20:00

``rotate`` is the playlist as written (``live:hassan,on-air:campaign:torture``) and
``rotate_every`` its seconds per page; both empty for a screen that shows one page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("screen_tokens", sa.Column("rotate", sa.String(length=1000), nullable=True))
    op.add_column("screen_tokens", sa.Column("rotate_every", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("screen_tokens", "rotate_every")
    op.drop_column("screen_tokens", "rotate")
