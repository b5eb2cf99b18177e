"""users: a session epoch, and the single sign-on identity (issuer + subject)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:00:00

A dashboard session remembers the epoch it was opened under; resetting a password,
changing a role or the single sign-on identity raises it, which ends the older sessions.
Single sign-on binds a user to the identity provider's issuer and subject at the first
login with a verified e-mail; later logins match on them, never on the e-mail alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_issuer", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_unique_constraint("uq_users_sso_identity", ["sso_issuer", "sso_subject"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_sso_identity", type_="unique")
        batch_op.drop_column("session_epoch")
        batch_op.drop_column("sso_subject")
        batch_op.drop_column("sso_issuer")
