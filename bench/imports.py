"""CSV import speed, against the fastest plain way to put the same rows in the database.

Ours is ``campaign import signatures``: every line validated, the number normalised,
hashed and encrypted, the supporter upserted, the signature inserted once per supporter
and appeal, the tallies bumped, in transactions of ``importer.BATCH`` rows; then the
live figures go to Redis.  The raw baseline reads the same file with ``csv.reader`` and
inserts the same number of rows, unvalidated, into a copy of the signatures table
(same columns, unique constraint and index, no foreign keys) in transactions of the
same size: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.  The ratio is how much of
the database's bulk speed the import keeps.
"""

from __future__ import annotations

import csv
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, select

from bench.webhooks import counts
from campaign.inbound import importer
from campaign.inbound.copy_writes import SIGNATURE_COLUMNS
from campaign.runtime import Runtime
from campaign.storage.models import Appeal, Signature

RAW_TABLE = "bench_raw_signatures"
COLUMNS = SIGNATURE_COLUMNS


@dataclass
class ImportResult:
    method: str  # short, for the printed label
    detail: str
    rows: int
    seconds: float
    imported: int = 0
    already_there: int = 0
    bad_lines: int = 0
    db_signatures: int = 0

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "per_second": round(self.per_second, 1)}


def write_csv(path: Path, rows: int, appeal: str, number_prefix: str = "+3162", seed: int = 2008) -> None:
    """``rows`` signatures of distinct supporters over the past years, as an export holds them."""
    rng = random.Random(seed)
    end = datetime.now(UTC) - timedelta(days=1)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["appeal", "phone", "signed_at"])
        for index in range(rows):
            moment = end - timedelta(seconds=rng.randrange(5 * 365 * 86400))
            writer.writerow([appeal, f"{number_prefix}{index:07d}", moment.isoformat(timespec="seconds")])


def run_import(runtime: Runtime, path: Path, appeal: str) -> ImportResult:
    """What ``campaign import signatures`` does, without the progress bar."""
    began = time.perf_counter()
    report = importer.import_signatures(runtime.recorder, runtime.vault, path)
    runtime.live.apply(report.changes)
    seconds = time.perf_counter() - began
    return ImportResult(
        method="campaign import",
        detail="campaign.inbound.importer.import_signatures, then live.apply (Redis)",
        rows=report.lines,
        seconds=seconds,
        imported=report.imported,
        already_there=report.already_there,
        bad_lines=len(report.errors),
        db_signatures=counts(runtime.engine, appeal).signatures,
    )


def run_raw(runtime: Runtime, path: Path, appeal: str) -> ImportResult:
    engine = runtime.engine
    table = _raw_table()
    table.drop(engine, checkfirst=True)
    table.create(engine)
    with engine.connect() as connection:
        appeal_id = connection.scalar(select(Appeal.id).where(Appeal.slug == appeal))
    source = path.name
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        began = time.perf_counter()
        rows = 0
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            batch: list[tuple[Any, ...]] = []
            for line, (_, _, signed_at) in enumerate(reader, start=2):
                batch.append((appeal_id, line, "sms", "import", f"{source}:{line}", "ZZ", signed_at))
                if len(batch) >= importer.BATCH:
                    rows += _write(raw, batch, postgres)
            rows += _write(raw, batch, postgres)
        seconds = time.perf_counter() - began
        cursor = raw.cursor()
        cursor.execute(f"SELECT count(*) FROM {RAW_TABLE}")  # noqa: S608 - our constant
        stored = int(cursor.fetchone()[0])  # type: ignore[index]  # count(*) always has a row
        cursor.close()
    finally:
        raw.close()
        table.drop(engine, checkfirst=True)
    method = "COPY" if postgres else "executemany"
    return ImportResult(
        method=f"raw {method}",
        detail=f"csv.reader + {method} into a copy of the signatures table, commit per {importer.BATCH} rows",
        rows=rows,
        seconds=seconds,
        imported=rows,
        db_signatures=stored,
    )


def _write(raw: Any, batch: list[tuple[Any, ...]], postgres: bool) -> int:
    """Insert and commit one batch; empty the list; return how many rows went in."""
    if not batch:
        return 0
    cursor = raw.cursor()
    if postgres:
        with cursor.copy(f"COPY {RAW_TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(COLUMNS))
        cursor.executemany(f"INSERT INTO {RAW_TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})", batch)  # noqa: S608
    cursor.close()
    raw.commit()
    count = len(batch)
    batch.clear()
    return count


def _raw_table() -> Table:
    """The signatures table's columns and keys under another name, without foreign keys."""
    source = Signature.__table__
    metadata = MetaData()
    columns = [Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in source.columns]
    return Table(
        RAW_TABLE,
        metadata,
        *columns,
        UniqueConstraint("appeal_id", "supporter_id", name=f"uq_{RAW_TABLE}_pair"),
        Index(f"ix_{RAW_TABLE}_received_at", "received_at"),
    )
