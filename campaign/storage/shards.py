"""Counter shards: running counts that concurrent transactions add to without waiting on each other.

Every count the write path keeps (tallies, campaign tallies, the rollups) is a row per
``shard`` as well as per key.  A writing transaction claims one shard and adds only to that
shard's rows, so two ingest processes bumping the same appeal's total touch different rows and
never queue on a row lock.  The figure is the sum over the shards: every reader goes through
``summed`` (or sums the ``count`` column itself, as the History queries do).

Claiming a shard on PostgreSQL takes a transaction-scoped advisory lock on it (released at
commit or rollback, also when a process dies), starting from the process's own preferred
shard, so concurrent transactions get different shards while there are free ones.  If all
are taken, the transaction uses its preferred shard anyway: it then waits for that row as
every transaction did before shards, and the counts stay exact either way, since each is
added under the row's lock.  SQLite has one writer at a time, so it always uses shard 0.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from campaign.storage.db import insert_for

SHARDS = 16
# The advisory lock space of the counter shards (any constant the project uses for nothing else).
LOCK_CLASS = 0x5A4D

# Rows come in order and the scan stops at the first shard locked: no ORDER BY, which would
# try every shard first.
CLAIM = text(
    "SELECT shard FROM unnest(CAST(:order AS integer[])) AS o(shard)"
    " WHERE pg_try_advisory_xact_lock(:space, shard) LIMIT 1"
)


def preferred() -> int:
    """This process's first choice: different processes usually start at different shards."""
    return os.getpid() % SHARDS


READ_CHUNK = 500  # counts read back per statement (SQLite allows a few thousand parameters)
BULK_FROM = 200  # counts from which they go to the driver as tuples, past SQLAlchemy's parameters


def claim(connection: Connection) -> int:
    """The shard this transaction adds to (the same one however often it asks)."""
    if connection.dialect.name != "postgresql":
        return 0
    transaction = connection.get_transaction()
    held = connection.info.get("counter_shard")
    if held is not None and held[0] is transaction:
        return int(held[1])
    first = preferred()
    order = [(first + step) % SHARDS for step in range(SHARDS)]
    found = connection.execute(CLAIM, {"order": order, "space": LOCK_CLASS}).scalar()
    shard = first if found is None else int(found)
    connection.info["counter_shard"] = (transaction, shard)
    return shard


def add(connection: Connection, table: Any, counts: Mapping[tuple[Any, ...], int]) -> None:
    """Add ``counts`` (by key, in key-column order) to this transaction's shard of ``table``."""
    if counts:
        add_to_shard(connection, table, claim(connection), counts)


def add_to_shard(
    connection: Connection, table: Any, shard: int, counts: Mapping[tuple[Any, ...], int]
) -> None:
    """Add ``counts`` to the rows of one given ``shard`` (``add`` for a writer, folding for shard 0)."""
    if len(counts) >= BULK_FROM:
        _add_in_bulk(connection, table, shard, counts)
        return
    names = [column.name for column in key_columns(table)]
    statement = _adding(connection.dialect.name, table)
    # Sorted, so transactions that do share a shard take its row locks in one order.
    rows = [
        dict(zip(names, key, strict=True)) | {"shard": shard, "count": n} for key, n in sorted(counts.items())
    ]
    connection.execute(statement, rows)


def _add_in_bulk(
    connection: Connection, table: Any, shard: int, counts: Mapping[tuple[Any, ...], int]
) -> None:
    """``add_to_shard`` for many counts (an import's hours): on SQLite the rows go to the driver as
    tuples; on PostgreSQL as one array per column, in one statement.  Same order, same rule."""
    names = [column.name for column in key_columns(table)]
    listed = ", ".join(names)
    upsert = f" ON CONFLICT ({listed}, shard) DO UPDATE SET count = {table.name}.count + excluded.count"
    ordered = sorted(counts.items())
    if connection.dialect.name == "postgresql":
        dialect = connection.dialect
        arrays = ", ".join(
            f"CAST(:k{i} AS {column.type.compile(dialect)}[])" for i, column in enumerate(key_columns(table))
        )
        statement = text(
            f"INSERT INTO {table.name} ({listed}, shard, count)"  # noqa: S608 - our names
            f" SELECT {listed}, :shard, n FROM unnest({arrays}, CAST(:n AS bigint[])) AS u({listed}, n)"
            f" ORDER BY {listed}{upsert}"
        )
        columns = list(zip(*(key for key, _ in ordered), strict=True))
        values = {f"k{i}": list(column) for i, column in enumerate(columns)}
        connection.execute(statement, values | {"shard": shard, "n": [n for _, n in ordered]})
        return
    marks = ", ".join("?" * (len(names) + 2))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(
            f"INSERT INTO {table.name} ({listed}, shard, count) VALUES ({marks}){upsert}",  # noqa: S608
            [(*key, shard, n) for key, n in ordered],
        )
    finally:
        cursor.close()


@functools.cache
def _adding(dialect: str, table: Any) -> Any:
    """The upsert that adds to a shard's counts, built once per dialect and table (building one
    costs more than a batch's few rows)."""
    keys = key_columns(table)
    insert = insert_for(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=[*keys, table.c.shard],
        set_={"count": table.c["count"] + insert.excluded["count"]},
    )


def committed(
    connection: Connection, table: Any, wanted: Iterable[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int] | None:
    """``figures`` read just after the commit, on the connection that made it (no transaction).

    Inside its transaction a writer sees the other shards as committed before it read them: a
    writer committing in between is missing there, and ours from its figures.  Read after the
    commit, the figures include every commit before, so of the copies the writers make in
    Redis (max-registers) the last one is the database's.  None if the database went away
    in between: the commit stands, and the workers raise the live figures to it.
    """
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")  # one round trip, no BEGIN
    try:
        return figures(connection, table, wanted)
    except DBAPIError:
        return None


def figures(
    connection: Connection, table: Any, wanted: Iterable[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    """The figures of the ``wanted`` keys of ``table``: each summed over its shards."""
    ordered = sorted(set(wanted))
    out: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(ordered), READ_CHUNK):
        chunk = ordered[start : start + READ_CHUNK]
        # Each key column in the values it takes (one statement per table, compiled once);
        # the few other combinations that also match are dropped here.
        values = {f"_k{i}": sorted({key[i] for key in chunk}) for i in range(len(chunk[0]))}
        asked = set(chunk)
        for row in connection.execute(_reading(table), values):
            key = tuple(row[:-1])
            if key in asked:
                out[key] = int(row[-1])
    return out


_READINGS: dict[str, Select[Any]] = {}


def _reading(table: Any) -> Select[Any]:
    """The counts of ``table`` whose key columns are in the lists ``_k0``, ``_k1``, ... (summed)."""
    statement = _READINGS.get(table.name)
    if statement is None:
        keys = key_columns(table)
        lists = [column.in_(bindparam(f"_k{i}", expanding=True)) for i, column in enumerate(keys)]
        statement = _READINGS[table.name] = summed(table, *lists)
    return statement


def key_columns(table: Any) -> list[Column[Any]]:
    """The columns that name a count, shard left out."""
    return [column for column in table.primary_key.columns if column.name != "shard"]


def summed(table: Any, *where: ColumnElement[bool]) -> Select[Any]:
    """Each count of ``table`` summed over its shards: the key columns, then ``count``."""
    keys = key_columns(table)
    total = cast(func.sum(table.c["count"]), BigInteger).label("count")  # not NUMERIC on PostgreSQL
    return select(*keys, total).where(*where).group_by(*keys)
