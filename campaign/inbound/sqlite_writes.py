"""Large batches on SQLite: rows go to the driver as tuples, past SQLAlchemy's parameter handling.

SQLAlchemy's ``executemany`` turns every row into a dict of processed parameters, which costs
more than SQLite's own insert; here each row is a tuple in column order, times are put in
SQLAlchemy's own storage format once per row (``stored_time``), and the statements apply the
same ``ON CONFLICT`` rules as those in ``campaign.inbound.writes``, in the same sorted order.
The counterpart of ``campaign.inbound.copy_writes`` (PostgreSQL); used by imports.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from campaign.storage.models import Signature

BULK_FROM = 500  # rows from which the batch goes past SQLAlchemy's parameters
CHUNK = 500  # rows per multi-row statement: 3,500 parameters (SQLite allows 32,766)

SUPPORTERS_UPSERT = (
    "INSERT INTO supporters (phone_hash, phone_encrypted, country, first_seen_at, subscribed,"
    " opted_out, last_active_at) VALUES (?, ?, ?, ?, 0, 0, ?)"
    " ON CONFLICT (phone_hash) DO UPDATE SET last_active_at = excluded.last_active_at"
    " WHERE supporters.last_active_at IS NULL OR supporters.last_active_at < excluded.last_active_at"
)


def worth_it(connection: Connection, rows: int) -> bool:
    return rows >= BULK_FROM and connection.dialect.name == "sqlite"


@functools.cache
def _time_processor(dialect: Any) -> Callable[[datetime], str]:
    column_type = Signature.__table__.c.received_at.type
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)  # SQLite's own, not the generic
    assert processor is not None
    return processor


def stored_time(connection: Connection, moment: datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite (UTC, no zone), so stored times compare as text."""
    return _time_processor(connection.dialect)(moment)


def upsert_supporters(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """As ``copy_writes.upsert_supporters``: rows of ``SUPPORTER_COLUMNS``, one per phone hash, sorted."""
    stored = functools.partial(stored_time, connection)
    cursor = _cursor(connection)
    try:
        values = []
        for phone_hash, encrypted, country, first, latest in rows:
            first_stored = stored(first)
            # Most supporters of an import are seen once: first and latest are the same time.
            latest_stored = first_stored if latest is first else stored(latest)
            values.append((phone_hash, encrypted, country, first_stored, latest_stored))
        cursor.executemany(SUPPORTERS_UPSERT, values)
        found = []
        for start in range(0, len(rows), CHUNK):
            hashes = [row[0] for row in rows[start : start + CHUNK]]
            cursor.execute(
                "SELECT id, phone_hash, latest_alert_appeal_id, language FROM supporters"  # noqa: S608
                f" WHERE phone_hash IN ({', '.join('?' * len(hashes))})",
                hashes,
            )
            found += [
                {"id": i, "phone_hash": h, "latest_alert_appeal_id": a, "language": la}
                for i, h, a, la in cursor.fetchall()
            ]
        return found
    finally:
        cursor.close()


def insert_signatures(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> set[tuple[int, int]]:
    """As ``copy_writes.insert_signatures``: rows of ``SIGNATURE_COLUMNS`` (sorted by appeal and
    supporter); the (appeal, supporter) pairs added."""
    columns = "appeal_id, supporter_id, channel, provider, provider_message_id, country, received_at"
    stored = functools.partial(stored_time, connection)
    added: set[tuple[int, int]] = set()
    cursor = _cursor(connection)
    try:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            values: list[Any] = []
            for *head, received_at in chunk:
                values += head
                values.append(stored(received_at))
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO signatures ({columns}) VALUES {marks}"  # noqa: S608 - our names
                " ON CONFLICT DO NOTHING RETURNING appeal_id, supporter_id",
                values,
            )
            added.update(cursor.fetchall())
        return added
    finally:
        cursor.close()


def _cursor(connection: Connection) -> Any:
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
