"""Lock waits on PostgreSQL during a run: how often some transaction waits, and on which table.

A thread samples ``pg_locks`` (joined with ``pg_stat_activity`` and ``pg_class``) every few
milliseconds over its own connection.  A transaction waiting for a row another one holds waits
on that one's transaction id, which names no table; the table is then the one its waiting
statement writes (``INSERT INTO tallies ...``).  The figure per table is the share of samples
in which at least one session of the scratch database waited on it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

INTERVAL = 0.02  # seconds between samples

WAITING = text(
    """
    SELECT coalesce(c.relname, '') AS relation, a.query
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    LEFT JOIN pg_class c ON c.oid = l.relation
    WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()
    """
)
WRITTEN = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


@dataclass
class LockWaits:
    samples: int = 0
    waiting: int = 0  # samples with any waiting lock
    by_table: Counter[str] = field(default_factory=Counter)  # samples with a wait on the table

    def share(self, count: int) -> float:
        return count / self.samples if self.samples else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "waiting_share": round(self.share(self.waiting), 4),
            "by_table": {name: round(self.share(n), 4) for name, n in self.by_table.most_common()},
        }

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        tables = ", ".join(f"{name} {self.share(n):.1%}" for name, n in self.by_table.most_common(6))
        return f"{self.share(self.waiting):5.1%} of {self.samples} samples" + (
            f" ({tables})" if tables else ""
        )


def table_of(relation: str, query: str) -> str:
    """The table a waiting lock is about: its relation, else the table its statement writes."""
    if relation:
        return relation
    found = WRITTEN.match(query or "")
    return found.group(1) if found else "(other)"


class LockSampler:
    """Samples lock waits in a thread between ``start`` and ``stop`` (PostgreSQL only)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.result = LockWaits()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-sampler", daemon=True)

    def __enter__(self) -> LockWaits:
        if self.engine.dialect.name == "postgresql":
            self._thread.start()
        return self.result

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        with self.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            while not self._stop.wait(INTERVAL):
                rows = connection.execute(WAITING).all()
                self.result.samples += 1
                if rows:
                    self.result.waiting += 1
                for name in {table_of(relation, query) for relation, query in rows}:
                    self.result.by_table[name] += 1
