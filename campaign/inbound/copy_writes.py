"""Large batches on PostgreSQL: rows go in with ``COPY`` to a temporary table, then one statement each.

``executemany`` sends a large batch as many multi-row INSERTs, every value a bound parameter
SQLAlchemy has processed; ``COPY`` streams the rows in PostgreSQL's own format (psycopg writes
it in C), and one ``INSERT ... SELECT`` per table applies the same ``ON CONFLICT`` rules as the
statements in ``campaign.inbound.writes``, in the same sorted order (so concurrent batches take
row locks in one order).  The temporary tables live as long as the database connection and are
emptied at every commit.  Used by imports; an SMS batch is rarely this large.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, text

COPY_FROM = 500  # rows from which COPY pays for its extra statements

SUPPORTER_COLUMNS = ("phone_hash", "phone_encrypted", "country", "first_seen_at", "last_active_at")
SIGNATURE_COLUMNS = (
    "appeal_id",
    "supporter_id",
    "channel",
    "provider",
    "provider_message_id",
    "country",
    "received_at",
)
_TABLES = {
    "copy_supporters": "phone_hash text, phone_encrypted text, country text,"
    " first_seen_at timestamptz, last_active_at timestamptz",
    "copy_signatures": "appeal_id bigint, supporter_id bigint, channel text, provider text,"
    " provider_message_id text, country text, received_at timestamptz",
}


def worth_it(connection: Connection, rows: int) -> bool:
    """Whether a batch of ``rows`` goes in by COPY: on PostgreSQL through psycopg 3 (its ``copy``)."""
    dialect = connection.dialect
    return rows >= COPY_FROM and dialect.name == "postgresql" and dialect.driver == "psycopg"


def upsert_supporters(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows of ``SUPPORTER_COLUMNS``, one per phone hash: create the new supporters, move the
    last activity of the known ones forward; every row's supporter (id, phone_hash,
    latest_alert_appeal_id, language)."""
    _copy(connection, "copy_supporters", SUPPORTER_COLUMNS, rows)
    connection.execute(
        text(
            "INSERT INTO supporters (phone_hash, phone_encrypted, country, first_seen_at, subscribed,"
            " opted_out, last_active_at)"
            " SELECT phone_hash, phone_encrypted, country, first_seen_at, false, false, last_active_at"
            " FROM copy_supporters ORDER BY phone_hash"
            " ON CONFLICT (phone_hash) DO UPDATE SET last_active_at = excluded.last_active_at"
            " WHERE supporters.last_active_at IS NULL OR supporters.last_active_at < excluded.last_active_at"
        )
    )
    found = connection.execute(
        text(
            "SELECT s.id, s.phone_hash, s.latest_alert_appeal_id, s.language"
            " FROM supporters s JOIN copy_supporters c ON c.phone_hash = s.phone_hash"
        )
    ).mappings()
    return [dict(row) for row in found]


def insert_signatures(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> set[tuple[int, int]]:
    """Rows of ``SIGNATURE_COLUMNS``: insert those whose (appeal, supporter) is not signed yet;
    return the pairs added."""
    _copy(connection, "copy_signatures", SIGNATURE_COLUMNS, rows)
    columns = ", ".join(SIGNATURE_COLUMNS)
    added = connection.execute(
        text(
            f"INSERT INTO signatures ({columns}) SELECT {columns} FROM copy_signatures"  # noqa: S608 - our names
            " ORDER BY appeal_id, supporter_id ON CONFLICT DO NOTHING RETURNING appeal_id, supporter_id"
        )
    )
    return {(a, s) for a, s in added}


def _copy(
    connection: Connection, table: str, columns: Iterable[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Empty the temporary ``table`` (made on first use) and COPY ``rows`` into it."""
    connection.execute(
        text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({_TABLES[table]}) ON COMMIT DELETE ROWS")
    )
    connection.execute(text(f"TRUNCATE {table}"))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()
