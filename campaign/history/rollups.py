"""Rollups: the counts the History page reads, kept in the same transaction as the rows.

Signatures are counted per UTC hour, day and calendar month, appeal, channel, provider and
country; new SMS-network members per hour, appeal and country; social events per hour,
campaign, platform and kind.  The write path (``campaign.inbound.recorder``, ``campaign.activity.social``)
adds to them only what it actually inserted (a duplicate adds nothing), inside its own
transaction, so a rollup can never drift from the rows it counts.  Each count is a row per
shard (``campaign.storage.shards``); the History queries sum them.  ``rebuild`` recomputes
all of them from the raw tables in one transaction (``campaign rollup rebuild``).

Hours and days are whole units since the Unix epoch (UTC), months whole calendar months since
January 1970 (UTC), so a range is a pair of integers in each unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Table,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
)

from campaign.storage import shards
from campaign.storage.models import (
    InboundMessage,
    MemberHour,
    SignatureDay,
    SignatureHour,
    SignatureMonth,
    SocialEvent,
    SocialHour,
    Supporter,
)
from campaign.storage.models import Signature as SignatureRow

HOUR = 3600
DAY = 86400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_APPEAL = 0  # a member who joined with no appeal featured on the number


def _table(model: Any) -> Table:
    return typed(Table, model.__table__)


TABLES = (
    _table(SignatureHour),
    _table(SignatureDay),
    _table(SignatureMonth),
    _table(MemberHour),
    _table(SocialHour),
)


def hour_of(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp()) // HOUR


def day_of(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp()) // DAY


def month_of(moment: datetime) -> int:
    return _month(moment.astimezone(UTC))


def _month(utc: datetime) -> int:
    return (utc.year - 1970) * 12 + utc.month - 1


def buckets(moment: datetime) -> tuple[int, int, int]:
    """``hour_of``, ``day_of`` and ``month_of`` with one conversion to UTC (an import passes many)."""
    utc = moment.astimezone(UTC)
    seconds = int(utc.timestamp())
    return seconds // HOUR, seconds // DAY, _month(utc)


def hour_start(hour: int) -> datetime:
    return EPOCH + timedelta(hours=hour)


def month_start(month: int) -> datetime:
    return datetime(1970 + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def month_hours(month: int) -> int:
    """The first hour of a month, in hours since the epoch."""
    return int(month_start(month).timestamp()) // HOUR


def epoch_month(connection: Connection, column: Any) -> ColumnElement[int]:
    """SQL for whole calendar months since January 1970 of a stored UTC time."""
    year: Any
    month: Any
    if connection.dialect.name == "postgresql":
        utc = func.timezone("UTC", column)  # the session's zone must not matter
        year, month = func.extract("year", utc), func.extract("month", utc)
    else:
        year, month = func.strftime("%Y", column), func.strftime("%m", column)
    return cast((cast(year, Integer) - 1970) * 12 + cast(month, Integer) - 1, Integer)


def epoch_units(connection: Connection, column: Any, seconds: int) -> ColumnElement[int]:
    """SQL for whole ``seconds`` since the epoch of a stored UTC time, on this dialect."""
    if connection.dialect.name == "postgresql":
        epoch = cast(func.floor(func.extract("epoch", column)), BigInteger)
    else:  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
        epoch = cast(func.strftime("%s", column), BigInteger)
    return cast(epoch // seconds, Integer)


# -- the write path ----------------------------------------------------------------------------


def add_signatures(connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count newly inserted signatures (dicts with appeal_id, channel, provider, country, received_at)."""
    hours: Counter[tuple[int, int, str, str, str]] = Counter()
    days: Counter[tuple[int, int, str, str, str]] = Counter()
    months: Counter[tuple[int, int, str, str, str]] = Counter()
    for row in rows:
        key = (row["appeal_id"], row["channel"], row["provider"], row["country"])
        hour, day, month = buckets(row["received_at"])
        hours[(hour, *key)] += 1
        days[(day, *key)] += 1
        months[(month, *key)] += 1
    _bump(connection, SignatureHour.__table__, "hour", hours)
    _bump(connection, SignatureDay.__table__, "day", days)
    _bump(connection, SignatureMonth.__table__, "month", months)


def add_members(connection: Connection, joined: Counter[tuple[int, int, str]]) -> None:
    """Count new members: (hour, appeal id or 0, country) -> how many."""
    _bump(connection, MemberHour.__table__, "hour", joined)


def add_social(connection: Connection, events: Iterable[Mapping[str, Any]]) -> None:
    """Count newly stored social events (dicts with campaign_id, platform, kind, occurred_at)."""
    counts: Counter[tuple[int, int, str, str]] = Counter()
    for row in events:
        counts[(hour_of(row["occurred_at"]), row["campaign_id"], row["platform"], row["kind"])] += 1
    _bump(connection, SocialHour.__table__, "hour", counts)


def _bump(connection: Connection, table: Any, unit: str, counts: Mapping[tuple[Any, ...], int]) -> None:
    assert shards.key_columns(table)[0].name == unit
    # Into this transaction's shard: concurrent batches of the same hour add to different rows.
    shards.add(connection, table, counts)


# -- rebuilding from the raw rows ----------------------------------------------------------------


def rebuild(engine: Engine) -> dict[str, int]:
    """Recompute every rollup from the raw tables in one transaction; rows per table."""
    with engine.begin() as connection:
        return rebuild_on(connection)


def rebuild_on(connection: Connection) -> dict[str, int]:
    """``rebuild`` inside the caller's transaction (also used by the migration)."""
    # No writer may slip a row in between the delete and the insert.  On SQLite the first
    # delete takes the database's one write lock; PostgreSQL needs it said.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "LOCK TABLE signatures, supporters, social_events IN SHARE ROW EXCLUSIVE MODE"
        )
    sig = SignatureRow.__table__
    grouped = (sig.c.appeal_id, sig.c.channel, sig.c.provider, sig.c.country)
    for table, unit, seconds in (
        (_table(SignatureHour), "hour", HOUR),
        (_table(SignatureDay), "day", DAY),
        (_table(SignatureMonth), "month", 0),
    ):
        if seconds:
            bucket = epoch_units(connection, sig.c.received_at, seconds)
        else:
            bucket = epoch_month(connection, sig.c.received_at)
        connection.execute(delete(table))
        connection.execute(
            insert(table).from_select(
                [unit, "appeal_id", "channel", "provider", "country", "count"],
                select(bucket, *grouped, func.count()).group_by(bucket, *grouped),
            )
        )

    supporters = Supporter.__table__
    messages = InboundMessage.__table__
    first_join = (
        select(messages.c.appeal_id)
        .where(messages.c.supporter_id == supporters.c.id, messages.c.intent == "join")
        .order_by(messages.c.received_at, messages.c.id)
        .limit(1)
        .scalar_subquery()
    )
    joined = (
        select(
            epoch_units(connection, supporters.c.member_since, HOUR).label("hour"),
            func.coalesce(first_join, literal(NO_APPEAL)).label("appeal_id"),
            supporters.c.country.label("country"),
        )
        .where(supporters.c.member_since.is_not(None))
        .subquery()
    )
    member_table = _table(MemberHour)
    connection.execute(delete(member_table))
    connection.execute(
        insert(member_table).from_select(
            ["hour", "appeal_id", "country", "count"],
            select(joined.c.hour, joined.c.appeal_id, joined.c.country, func.count()).group_by(
                joined.c.hour, joined.c.appeal_id, joined.c.country
            ),
        )
    )

    events = SocialEvent.__table__
    social_table = _table(SocialHour)
    hour = epoch_units(connection, events.c.occurred_at, HOUR)
    connection.execute(delete(social_table))
    connection.execute(
        insert(social_table).from_select(
            ["hour", "campaign_id", "platform", "kind", "count"],
            select(hour, events.c.campaign_id, events.c.platform, events.c.kind, func.count()).group_by(
                hour, events.c.campaign_id, events.c.platform, events.c.kind
            ),
        )
    )
    return {
        table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0) for table in TABLES
    }


def snapshot(connection: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup count summed over its shards, for comparing an incremental result with a rebuild."""
    out = {}
    for table in TABLES:
        out[table.name] = {tuple(row) for row in connection.execute(shards.summed(table)) if row[-1]}
    return out
