"""outbox errors: numbers that providers quoted in their error texts masked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 05:00:00

Twilio's errors quote the full number ("The 'To' number +31612345678 is not a valid phone
number"); they were stored as given.  The sender now masks them; this cleans the rows kept
before.  The pattern is this migration's own copy (an old migration runs no application
code): eight or more digits, optionally led by + and broken by spaces or dashes.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NUMBER = re.compile(r"(?<![\w+.])(?<!\w-)\+?\d(?:[ \-]?\d){7,19}(?!\w|[.-]\d)")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2})?")


def _masked(match: re.Match[str]) -> str:
    found = match.group(0)
    if DATE.fullmatch(found):
        return found
    digits = [c for c in found if c.isdigit()]
    return ("+" if found.startswith("+") else "") + "•••" + "".join(digits[-2:])


def upgrade() -> None:
    outbox = sa.table("outbox", sa.column("id", sa.BigInteger()), sa.column("error", sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(outbox.c.id, outbox.c.error).where(outbox.c.error.is_not(None))).all()
    for row_id, error in rows:
        head, colon, message = error.partition(": ")  # "twilio 400 21211: The 'To' number ..."
        masked = head + colon + NUMBER.sub(_masked, message) if colon else NUMBER.sub(_masked, error)
        if masked != error:
            connection.execute(sa.update(outbox).where(outbox.c.id == row_id).values(error=masked))


def downgrade() -> None:
    pass  # the numbers are gone for good, as they should be
