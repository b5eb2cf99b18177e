"""History queries over years of signatures, with and without rollups, on SQLite and PostgreSQL.

``python -m bench.history [--rows N] [--repeats R] [--raw-repeats R] [--postgres URL]``
(also ``python -m bench --only history``).  For each database, in the same run:

1. A generator writes N signatures (default 10,000,000; ``--quick`` 200,000) over 100
   appeals in 10 campaigns and three years, as TV-driven campaigns look: each appeal opens
   with a spike in its first evening that halves every couple of hours, then a tail of
   weeks; a Dutch-heavy mix of 30 countries; SMS through three providers, web and
   WhatsApp; one supporter in three signs several appeals; 2 % become members; social
   activity per campaign.  PostgreSQL gets the rows by COPY, SQLite by executemany in
   transactions of 200,000 rows.
2. ``campaign rollup rebuild`` builds the rollups (timed: what a rebuild costs at N).
3. Every History query (``campaign.history.queries``) runs under nine filter sets (everything,
   a year, a campaign, an appeal, an appeal's month, a country, a channel and provider,
   good outcomes in the last year, a campaign x country x channel combination), from the
   rollups and from the raw tables, each ``repeats`` times after one warm-up; p50 and p95
   per query, and the whole page (``campaign.history.rows.view``) from the rollups.

Target (issue 6): p95 under 500 ms with rollups.  The databases live in a temporary
directory (SQLite) or a scratch database (PostgreSQL) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, bindparam, create_engine, func, select, text, update

from bench import report
from campaign.activity import social
from campaign.activity.social import SocialInput
from campaign.appeals import outcomes
from campaign.appeals import registry as appeals
from campaign.history import queries as history
from campaign.history import rollups
from campaign.history.filters import Filters, scope
from campaign.history.rows import view
from campaign.storage import db
from campaign.storage.models import Appeal, Signature, Supporter

TARGET_MS = 500.0
APPEALS = 100
CAMPAIGNS = 10
YEARS = 3
BATCH = 200_000
TZ = ZoneInfo("Europe/Amsterdam")
POSTGRES = os.environ.get("CAMPAIGN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

COUNTRIES = (
    ("NL", 40), ("BE", 8), ("DE", 7), ("GB", 6), ("FR", 5), ("KE", 5), ("US", 4), ("ES", 3),
    ("IT", 3), ("SE", 2), ("NO", 2), ("DK", 2), ("PL", 1.5), ("PT", 1), ("IE", 1), ("AT", 1),
    ("CH", 1), ("CA", 1), ("AU", 1), ("ZA", 1), ("NG", 1), ("UG", 1), ("TZ", 1), ("IN", 1),
    ("BR", 0.5), ("MX", 0.5), ("JP", 0.5), ("EG", 0.5), ("MA", 0.5), ("TR", 0.5),
)  # fmt: skip
CHANNELS = (
    ("sms", "twilio", 38),
    ("sms", "vonage", 22),
    ("sms", "kpn", 15),
    ("web", "web", 20),
    ("whatsapp", "twilio", 5),
)
SEQUENCES = (
    "SELECT setval(pg_get_serial_sequence('supporters', 'id'), (SELECT max(id) FROM supporters))",
    "SELECT setval(pg_get_serial_sequence('signatures', 'id'), (SELECT max(id) FROM signatures))",
)
QUERIES = ("headline", "over_time", "peaks", "by_country", "by_channel", "appeal_table", "members", "social")


@dataclass
class Generated:
    rows: int
    supporters: int
    seconds: float
    end: datetime


@dataclass
class Timings:
    by_query: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.by_query.setdefault(name, []).append(seconds * 1000)

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: _percentiles(values) for name, values in self.by_query.items()}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": statistics.median(ordered), "p95": p95, "n": len(ordered)}


# -- the generator ---------------------------------------------------------------------------------


def generate(engine: Engine, rows: int, seed: int = 2008) -> Generated:
    """Appeals, outcomes, supporters, signatures, members and social activity; see the module."""
    began = time.monotonic()
    rng = np.random.default_rng(seed)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=365 * YEARS)
    opened = [start + timedelta(days=(365 * YEARS - 60) * i / APPEALS) for i in range(APPEALS)]
    for i, at in enumerate(opened):
        appeals.add_appeal(
            engine,
            slug=f"appeal-{i:03d}",
            title=f"Appeal {i}",
            campaign=f"campaign-{i % CAMPAIGNS}",
            opened_at=at,
        )
    kinds = list(outcomes.KINDS)
    for i, at in enumerate(opened):
        if i % 5 < 3:
            outcomes.record(
                engine, f"appeal-{i:03d}", kinds[i % len(kinds)], occurred_at=at + timedelta(days=30 + i % 90)
            )
    with engine.connect() as connection:
        ids = dict(connection.execute(select(Appeal.slug, Appeal.id)).all())
    appeal_ids = np.array([ids[f"appeal-{i:03d}"] for i in range(APPEALS)], dtype=np.int64)

    # Signatures per appeal: a few big appeals, many smaller (Zipf-like), summing to ``rows``.
    weights = 1 / np.arange(1, APPEALS + 1) ** 0.7
    rng.shuffle(weights)
    per_appeal = np.floor(weights / weights.sum() * rows).astype(np.int64)
    per_appeal[0] += rows - per_appeal.sum()
    supporters = max(int(per_appeal.max()), rows // 3)

    country_codes = np.array([c for c, _ in COUNTRIES])
    country_p = np.array([w for _, w in COUNTRIES], dtype=float)
    country_p /= country_p.sum()
    channel_p = np.array([w for *_, w in CHANNELS], dtype=float)
    channel_p /= channel_p.sum()
    channel_names = np.array([c for c, _, _ in CHANNELS])
    provider_names = np.array([p for _, p, _ in CHANNELS])

    _supporters(engine, supporters, start, rng)
    written = 0
    next_id = 1
    pending: list[tuple[np.ndarray, ...]] = []
    pending_rows = 0
    for index, count in enumerate(per_appeal):
        n = int(count)
        if n == 0:
            continue
        open_s = opened[index].timestamp()
        tv = open_s + 20 * 3600  # the evening of the first day
        spike = rng.random(n) < 0.35
        offsets = np.where(
            spike,
            tv + rng.exponential(2.5 * 3600, n),
            open_s + rng.exponential(18 * 86400, n),
        )
        offsets = np.minimum(offsets, end.timestamp() - 1)
        times = offsets.astype("int64").astype("datetime64[s]")
        base = int(rng.integers(0, supporters))
        people = (base + np.arange(n)) % supporters + 1
        channel = rng.choice(len(CHANNELS), n, p=channel_p)
        country = rng.choice(len(COUNTRIES), n, p=country_p)
        ids_ = np.arange(next_id, next_id + n)
        next_id += n
        pending.append(
            (ids_, np.full(n, appeal_ids[index]), people, channel_names[channel], provider_names[channel],
             country_codes[country], times)
        )  # fmt: skip
        pending_rows += n
        if pending_rows >= BATCH:
            written += _write(engine, pending)
            pending, pending_rows = [], 0
    if pending:
        written += _write(engine, pending)
    _fix_sequences(engine)
    _members_and_social(engine, supporters, start, end, rng)
    return Generated(written, supporters, time.monotonic() - began, end)


def _supporters(engine: Engine, count: int, start: datetime, rng: np.random.Generator) -> None:
    """Anonymous supporters (no number: the bench needs none), every 50th a member."""
    first = _stamp(np.full(count, int(start.timestamp())).astype("datetime64[s]"))
    countries = rng.choice(np.array([c for c, _ in COUNTRIES]), count)
    if engine.dialect.name == "postgresql":
        _copy(
            engine,
            "COPY supporters (id, country, first_seen_at, subscribed, opted_out) FROM STDIN",
            (f"{i + 1}\t{countries[i]}\t{first[i]}+00\tf\tf\n" for i in range(count)),
        )
        return
    with engine.begin() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.cursor().executemany(
            "INSERT INTO supporters (id, country, first_seen_at, subscribed, opted_out)"
            " VALUES (?, ?, ?, 0, 0)",
            ((i + 1, str(countries[i]), str(first[i])) for i in range(count)),
        )


def _write(engine: Engine, parts: list[tuple[np.ndarray, ...]]) -> int:
    columns = [np.concatenate([part[k] for part in parts]) for k in range(7)]
    ids_, appeal, people, channel, provider, country, times = columns
    stamps = _stamp(times)
    n = len(ids_)
    if engine.dialect.name == "postgresql":
        _copy(
            engine,
            "COPY signatures (id, appeal_id, supporter_id, channel, provider, provider_message_id, country,"
            " received_at) FROM STDIN",
            (
                f"{ids_[i]}\t{appeal[i]}\t{people[i]}\t{channel[i]}\t{provider[i]}\tbench-{ids_[i]}\t"
                f"{country[i]}\t{stamps[i]}+00\n"
                for i in range(n)
            ),
        )
        return n
    rows = zip(
        ids_.tolist(),
        appeal.tolist(),
        people.tolist(),
        channel.tolist(),
        provider.tolist(),
        (f"bench-{i}" for i in ids_.tolist()),
        country.tolist(),
        stamps.tolist(),
        strict=True,
    )
    with engine.begin() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.cursor().executemany(
            "INSERT INTO signatures (id, appeal_id, supporter_id, channel, provider, provider_message_id,"
            " country, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return n


def _stamp(times: np.ndarray) -> np.ndarray:
    """UTC times as SQLAlchemy writes them on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    text_ = np.datetime_as_string(times.astype("datetime64[us]"), unit="us")
    return np.char.replace(text_, "T", " ")


def _copy(engine: Engine, statement: str, lines: Iterator[str]) -> None:
    with engine.begin() as connection:
        raw: Any = connection.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            buffer = io.StringIO()
            size = 0
            for row in lines:
                buffer.write(row)
                size += 1
                if size == 50_000:
                    copy.write(buffer.getvalue())
                    buffer, size = io.StringIO(), 0
            if size:
                copy.write(buffer.getvalue())


def _fix_sequences(engine: Engine) -> None:
    """After COPY with explicit ids, PostgreSQL's sequences must continue after them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for statement in SEQUENCES:
            connection.execute(text(statement))


def _members_and_social(
    engine: Engine, supporters: int, start: datetime, end: datetime, rng: np.random.Generator
) -> None:
    span = int((end - start).total_seconds())
    members = list(range(1, supporters + 1, 50))
    moments = [start + timedelta(seconds=int(s)) for s in rng.integers(0, span, len(members))]
    statement = update(Supporter).where(Supporter.id == bindparam("sid")).values(member_since=bindparam("at"))
    with engine.begin() as connection:
        connection.execute(
            statement, [{"sid": sid, "at": at} for sid, at in zip(members, moments, strict=True)]
        )
    events = []
    platforms = (("facebook", "join"), ("facebook", "post"), ("flickr", "photo"), ("web", "visit"))
    for i in range(20_000):
        platform, kind = platforms[i % len(platforms)]
        moment = start + timedelta(seconds=int(rng.integers(0, span)))
        events.append(SocialInput(platform, kind, f"bench-{i}", moment, f"campaign-{i % CAMPAIGNS}"))
    for chunk in range(0, len(events), 5000):
        social.record(engine, events[chunk : chunk + 5000])


# -- the measurements ----------------------------------------------------------------------------------


def filter_sets(end: datetime) -> dict[str, Filters]:
    last = end.date()
    year = date(last.year - 1, 1, 1)
    return {
        "everything": Filters(),
        "one year": Filters(start=year, end=date(year.year, 12, 31)),
        "one campaign": Filters(campaigns=("campaign-3",)),
        "one appeal": Filters(appeals=("appeal-042",)),
        "an appeal's month": Filters(appeals=("appeal-042",), start=date(2025, 1, 1), end=date(2025, 1, 31)),
        "country NL": Filters(countries=("NL",)),
        "sms via vonage": Filters(channels=("sms",), providers=("vonage",)),
        "good outcomes, last year": Filters(outcome="good", start=last - timedelta(days=365)),
        "campaign x country x channel": Filters(
            campaigns=("campaign-5",), countries=("BE", "DE"), channels=("web",)
        ),
    }


def measure(engine: Engine, end: datetime, repeats: int, *, from_rollups: bool) -> Timings:
    timings = Timings()
    calls: dict[str, Callable[..., Any]] = {
        "headline": history.headline,
        "over_time": history.over_time,
        "peaks": history.peaks,
        "by_country": history.by_country,
        "by_channel": history.by_channel,
        "appeal_table": history.appeal_table,
        "members": history.members,
        "social": history.social,
    }
    with engine.connect() as connection:
        for filters in filter_sets(end).values():
            where = scope(connection, filters, TZ)
            for name, call in calls.items():
                call(connection, where, from_rollups=from_rollups)  # warm-up
                for _ in range(repeats):
                    began = time.perf_counter()
                    call(connection, where, from_rollups=from_rollups)
                    timings.add(name, time.perf_counter() - began)
    if from_rollups:
        for filters in filter_sets(end).values():
            for _ in range(repeats):
                began = time.perf_counter()
                view(engine, filters, TZ)
                timings.add("whole page", time.perf_counter() - began)
    return timings


def check(engine: Engine, rows: int) -> str:
    with engine.connect() as connection:
        where = scope(connection, Filters(), TZ)
        from_rollups = history.headline(connection, where).signatures
        stored = connection.scalar(select(func.count()).select_from(Signature))
    return (
        "ok" if from_rollups == stored == rows else f"MISMATCH ({from_rollups:,} vs {stored:,} vs {rows:,})"
    )


@contextlib.contextmanager
def databases(postgres: str | None, skip_postgres: bool) -> Iterator[list[tuple[str, Engine]]]:
    """A SQLite file in a temporary directory and a scratch PostgreSQL database; both removed after."""
    engines: list[tuple[str, Engine]] = []
    with tempfile.TemporaryDirectory(prefix="campaign-bench-history-") as folder:
        sqlite = db.create_db_engine(f"sqlite:///{Path(folder) / 'history.sqlite3'}")
        engines.append(("SQLite", sqlite))
        admin = None
        name = f"campaign_bench_{uuid.uuid4().hex[:10]}"
        if not skip_postgres:
            try:
                admin = create_engine(postgres or POSTGRES, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                url = (postgres or POSTGRES).rsplit("/", 1)[0] + f"/{name}"
                engines.append(("PostgreSQL", db.create_db_engine(url)))
            except Exception as error:  # a bench without PostgreSQL still runs
                report.line("PostgreSQL", f"skipped: {str(error).splitlines()[0][:100]}")
                admin = None
        try:
            yield engines
        finally:
            for _, engine in engines:
                engine.dispose()
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def run(
    rows: int, repeats: int, raw_repeats: int, postgres: str | None = None, skip_postgres: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rows": rows,
        "repeats": repeats,
        "raw_repeats": raw_repeats,
        "target_p95_ms": TARGET_MS,
    }
    with databases(postgres, skip_postgres) as engines:
        for label, engine in engines:
            report.heading(f"history on {label}: {rows:,} signatures, {APPEALS} appeals, {YEARS} years")
            db.upgrade(engine)
            made = generate(engine, rows)
            rate = made.rows / made.seconds
            report.line(
                "generated",
                f"{made.rows:,} signatures, {made.supporters:,} supporters"
                f" in {made.seconds:.1f} s ({rate:,.0f}/s)",
            )
            began = time.monotonic()
            counts = rollups.rebuild(engine)
            rebuilt = time.monotonic() - began
            report.line(
                "rollup rebuild", f"{rebuilt:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
            )
            verdict = check(engine, made.rows)
            report.line("check", f"rollup total = signature rows = generated: {verdict}")
            with_rollups = measure(engine, made.end, repeats, from_rollups=True).summary()
            without = (
                measure(engine, made.end, raw_repeats, from_rollups=False).summary() if raw_repeats else {}
            )
            print_table(with_rollups, without)
            worst = max(v["p95"] for k, v in with_rollups.items() if k != "whole page")
            met = worst < TARGET_MS
            verdict_text = "meets" if met else "MISSES"
            report.line(
                "target", f"worst query p95 with rollups {worst:.1f} ms, < {TARGET_MS:.0f} ms: {verdict_text}"
            )
            out[label] = {
                "generated_s": made.seconds,
                "rebuild_s": rebuilt,
                "rollup_rows": counts,
                "check": verdict,
                "with_rollups_ms": with_rollups,
                "without_rollups_ms": without,
                "worst_p95_ms": worst,
                "met": met,
            }
    return out


def print_table(ours: dict[str, dict[str, float]], raw: dict[str, dict[str, float]]) -> None:
    print(
        f"  {'query (ms)':<14} {'rollups p50':>12} {'p95':>8}   {'raw p50':>9} {'p95':>9}   raw/rollups p95"
    )
    for name in (*QUERIES, "whole page"):
        mine, theirs = ours[name], raw.get(name)
        line = f"  {name:<14} {mine['p50']:>12.1f} {mine['p95']:>8.1f}"
        if theirs:
            ratio = theirs["p95"] / max(mine["p95"], 0.001)
            line += f"   {theirs['p50']:>9.1f} {theirs['p95']:>9.1f}   {ratio:>8.1f}x"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=10_000_000, help="signatures to generate (default 10,000,000)"
    )
    parser.add_argument("--quick", action="store_true", help="200,000 signatures")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per query and filter set (rollups)"
    )
    parser.add_argument("--raw-repeats", type=int, default=1, help="the same without rollups (0: skip)")
    parser.add_argument("--postgres", metavar="URL", help=f"PostgreSQL server (default {POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    rows = 200_000 if args.quick else args.rows
    report.line("machine", f"{os.cpu_count()} cores, load average {report.load_average()}")
    run(rows, args.repeats, args.raw_repeats, args.postgres, args.no_postgres)


if __name__ == "__main__":
    main()
