"""History queries against figures worked out by hand, on SQLite and PostgreSQL.

The data set (``seeded``) is small enough to count on paper; it goes in through the real
write paths (the importer's ``record_signatures``, the SMS path's ``record``, social
``record``), so the rollups under test are the ones those paths keep.  Times are UTC;
the filters are local dates in Europe/Amsterdam (UTC+1 in February and March 2008), so a
signature at 23:30 UTC on 1 March belongs to 2 March.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection

from campaign.activity import social
from campaign.activity.social import SocialInput
from campaign.appeals import outcomes
from campaign.appeals import registry as appeals
from campaign.appeals.registry import AppealSummary
from campaign.errors import BadRequest
from campaign.history import queries as history
from campaign.history import rollups, rows
from campaign.history.filters import Filters, _appeals, scope
from campaign.inbound.message import InboundSms
from campaign.inbound.recorder import SignatureInput
from campaign.runtime import Runtime
from campaign.storage import db

TZ = ZoneInfo("Europe/Amsterdam")


def utc(day: int, hour: int, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2008, month, day, hour, minute, tzinfo=UTC)


# appeal, phone, channel, provider, received at; the country follows from the number.
SIGNATURES = [
    ("hassan", "+31612345601", "sms", "twilio", utc(27, 20, 15)),  # 1 NL, the TV hour
    ("hassan", "+31612345602", "sms", "twilio", utc(27, 20, 40)),  # 2 NL
    ("hassan", "+32470123401", "sms", "vonage", utc(27, 20, 50)),  # 3 BE
    ("hassan", "+31612345603", "web", "web", utc(28, 9)),  # 4 NL
    ("hassan", "+4915123456701", "sms", "twilio", utc(1, 23, 30, month=3)),  # 5 DE, 2 March locally
    ("ali", "+31612345601", "sms", "twilio", utc(27, 21, 10)),  # 6 NL (signer 1 again, other appeal)
    ("ali", "+254712345601", "sms", "vonage", utc(5, 12, month=3)),  # 7 KE
    # 8 (kenya, KE, sms, vonage, 27 Feb 20:20) comes as a text message, below
    ("kenya", "+447400123456", "web", "web", utc(10, 10, month=3)),  # 9 GB
    ("kenya", "+254712345602", "sms", "vonage", utc(10, 10, 30, month=3)),  # 10 KE
    ("hassan", "+31612345601", "sms", "twilio", utc(28, 12)),  # signer 1 again: not counted
]


@dataclass(frozen=True)
class Expected:
    signatures: int
    countries: dict[str, int]
    channels: dict[str, int]
    appeals: dict[str, int]
    members: int = 0
    social: int = 0


@pytest.fixture
def seeded(runtime: Runtime, hassan: AppealSummary, kenya: AppealSummary) -> Runtime:
    appeals.add_appeal(runtime.engine, slug="ali", title="Free Ali", campaign="torture", person="Ali")
    engine, vault = runtime.engine, runtime.vault
    inputs = [
        SignatureInput(slug, vault.sender(phone), channel, provider, f"import:{i}", at)
        for i, (slug, phone, channel, provider, at) in enumerate(SIGNATURES)
    ]
    added, _ = runtime.recorder.record_signatures(inputs[:5])
    added2, _ = runtime.recorder.record_signatures(inputs[5:])
    assert added + added2 == 9
    texts = [
        InboundSms("vonage", "v-8", vault.sender("+254712345603"), "4777", "KENYA", utc(27, 20, 20)),
        # A retry of the same message: stored and counted once.
        InboundSms("vonage", "v-8", vault.sender("+254712345603"), "4777", "KENYA", utc(27, 20, 20)),
        # Members: one joins on 4777 (hassan featured), one on a number with nothing featured.
        InboundSms("twilio", "t-j1", vault.sender("+31612345602"), "4777", "JOIN", utc(27, 20, 45)),
        InboundSms("vonage", "v-j2", vault.sender("+254712345602"), "3322", "JOIN", utc(10, 11, month=3)),
        # Joining again changes nothing.
        InboundSms("twilio", "t-j3", vault.sender("+31612345602"), "4777", "JOIN", utc(28, 8)),
    ]
    runtime.recorder.record(texts[:2])
    runtime.recorder.record(texts[2:])
    social.record(
        engine,
        [
            *(SocialInput("facebook", "join", f"fb-{i}", utc(27, 20, 30), "kenya") for i in range(3)),
            SocialInput("facebook", "join", "fb-0", utc(27, 20, 30), "kenya"),  # duplicate
            SocialInput("flickr", "photo", "photo-1", utc(10, 9, month=3), "kenya"),
        ],
    )
    outcomes.record(engine, "hassan", "released")
    outcomes.record(engine, "ali", "no-change")
    return runtime


ALL = Expected(
    10,
    {"NL": 4, "BE": 1, "DE": 1, "KE": 3, "GB": 1},
    {"sms": 8, "web": 2},
    {"hassan": 5, "ali": 2, "kenya": 3},
    members=2,
    social=4,
)

CASES: list[tuple[str, Filters, Expected]] = [
    ("everything", Filters(), ALL),
    (
        "from 2 March (local): 23:30 UTC on 1 March is in",
        Filters(start=date(2008, 3, 2)),
        Expected(
            4, {"DE": 1, "KE": 2, "GB": 1}, {"sms": 3, "web": 1}, {"hassan": 1, "ali": 1, "kenya": 2}, 1, 1
        ),
    ),
    (
        "to 1 March (local): 23:30 UTC on 1 March is out",
        Filters(end=date(2008, 3, 1)),
        Expected(
            6, {"NL": 4, "BE": 1, "KE": 1}, {"sms": 5, "web": 1}, {"hassan": 4, "ali": 1, "kenya": 1}, 1, 3
        ),
    ),
    (
        "one day",
        Filters(start=date(2008, 2, 27), end=date(2008, 2, 27)),
        Expected(5, {"NL": 3, "BE": 1, "KE": 1}, {"sms": 5}, {"hassan": 3, "ali": 1, "kenya": 1}, 1, 3),
    ),
    (
        "campaign torture",
        Filters(campaigns=("torture",)),
        Expected(
            7, {"NL": 4, "BE": 1, "DE": 1, "KE": 1}, {"sms": 6, "web": 1}, {"hassan": 5, "ali": 2}, 1, 0
        ),
    ),
    (
        "campaign kenya",
        Filters(campaigns=("kenya",)),
        Expected(3, {"KE": 2, "GB": 1}, {"sms": 2, "web": 1}, {"kenya": 3}, 0, 4),
    ),
    (
        "appeal hassan from 28 February",
        Filters(appeals=("hassan",), start=date(2008, 2, 28)),
        Expected(2, {"NL": 1, "DE": 1}, {"sms": 1, "web": 1}, {"hassan": 2}, 0, 0),
    ),
    (
        "channel web",
        Filters(channels=("web",)),
        Expected(2, {"NL": 1, "GB": 1}, {"web": 2}, {"hassan": 1, "kenya": 1}, 2, 4),
    ),
    (
        "provider vonage",
        Filters(providers=("vonage",)),
        Expected(4, {"BE": 1, "KE": 3}, {"sms": 4}, {"hassan": 1, "ali": 1, "kenya": 2}, 2, 4),
    ),
    (
        "countries NL and BE",
        Filters(countries=("NL", "BE")),
        Expected(5, {"NL": 4, "BE": 1}, {"sms": 4, "web": 1}, {"hassan": 4, "ali": 1}, 1, 4),
    ),
    (
        "country KE by text message",
        Filters(countries=("KE",), channels=("sms",)),
        Expected(3, {"KE": 3}, {"sms": 3}, {"ali": 1, "kenya": 2}, 1, 4),
    ),
    (
        "torture by text message through twilio",
        Filters(campaigns=("torture",), channels=("sms",), providers=("twilio",)),
        Expected(4, {"NL": 3, "DE": 1}, {"sms": 4}, {"hassan": 3, "ali": 1}, 1, 0),
    ),
    (
        "good outcomes",
        Filters(outcome="good"),
        Expected(5, {"NL": 3, "BE": 1, "DE": 1}, {"sms": 4, "web": 1}, {"hassan": 5}, 1, 0),
    ),
    (
        "outcome no-change",
        Filters(outcome="no-change"),
        Expected(2, {"NL": 1, "KE": 1}, {"sms": 2}, {"ali": 2}),
    ),
    (
        "no outcome yet",
        Filters(outcome="none"),
        Expected(3, {"KE": 2, "GB": 1}, {"sms": 2, "web": 1}, {"kenya": 3}, 0, 4),
    ),
    ("platform flickr", Filters(platforms=("flickr",)), ALL.__class__(**{**ALL.__dict__, "social": 1})),
    (
        "appeal kenya in the campaign torture: nothing",
        Filters(appeals=("kenya",), campaigns=("torture",)),
        Expected(0, {}, {}, {}, 0, 0),
    ),
    (
        "a range with nothing in it",
        Filters(start=date(2009, 1, 1), end=date(2009, 12, 31)),
        Expected(0, {}, {}, {}, 0, 0),
    ),
]


@pytest.fixture
def connection(seeded: Runtime) -> Iterator[Connection]:
    with seeded.engine.connect() as connection:
        yield connection


@pytest.mark.parametrize("from_rollups", [True, False], ids=["rollups", "raw"])
@pytest.mark.parametrize(("name", "filters", "expected"), CASES, ids=[case[0] for case in CASES])
def test_every_filter_gives_the_hand_counted_figures(
    connection: Connection, name: str, filters: Filters, expected: Expected, from_rollups: bool
) -> None:
    where = scope(connection, filters, TZ)
    head = history.headline(connection, where, from_rollups=from_rollups)
    assert head.signatures == expected.signatures
    assert dict(history.by_country(connection, where, from_rollups=from_rollups)) == expected.countries
    channels: dict[str, int] = {}
    for channel, _provider, n in history.by_channel(connection, where, from_rollups=from_rollups):
        channels[channel] = channels.get(channel, 0) + n
    assert channels == expected.channels
    slugs = {i: row["slug"] for i, row in where.appeals.items()}
    by_appeal = {slugs[i]: n for i, n in history.by_appeal(connection, where, from_rollups=from_rollups)}
    assert by_appeal == expected.appeals
    assert head.appeals == len(expected.appeals)
    assert head.countries == len(expected.countries)
    assert head.members == expected.members
    assert head.social == expected.social
    series = history.over_time(connection, where, from_rollups=from_rollups)
    assert sum(n for _, n in series) == expected.signatures
    table = history.appeal_table(connection, where, from_rollups=from_rollups)
    assert {row["appeal"]: row["signatures"] for row in table if row["signatures"]} == expected.appeals


def test_the_tv_moment_is_the_busiest_hour(connection: Connection) -> None:
    where = scope(connection, Filters(), TZ)
    top = history.peaks(connection, where, 3)
    assert top[0] == (utc(27, 20), 4)  # signatures 1, 2, 3 and 8
    # then 10 March 10:00 (9 and 10), then the earliest of the hours with one (6, 27 Feb 21:00)
    assert top[1:] == [(utc(10, 10, month=3), 2), (utc(27, 21), 1)]
    head = history.headline(connection, where)
    assert (head.busiest_hour, head.busiest_count) == (utc(27, 20), 4)
    # The same with the days read first from the day rollup and then only the top days' hours.
    assert history.peaks(connection, where, 3, from_rollups=False) == top


def test_short_ranges_are_per_hour_long_ones_per_day(connection: Connection) -> None:
    short = scope(connection, Filters(start=date(2008, 2, 27), end=date(2008, 2, 28)), TZ)
    assert short.hourly
    series = dict(history.over_time(connection, short))
    assert series[utc(27, 20)] == 4 and series[utc(27, 21)] == 1 and series[utc(28, 9)] == 1
    long = scope(connection, Filters(), TZ)
    assert not long.hourly
    days = dict(history.over_time(connection, long))
    assert days[datetime(2008, 2, 27, tzinfo=UTC)] == 5
    assert days[datetime(2008, 3, 10, tzinfo=UTC)] == 2


def test_a_view_of_few_days_is_drawn_per_hour_and_many_days_per_day(seeded: Runtime) -> None:
    # All the data lies within 27 February - 10 March: twelve days, drawn per hour even
    # though no range was asked for (a new installation is not one wide bar).
    few = rows.view(seeded.engine, Filters(), TZ)
    assert few.hourly
    per_hour = {at.astimezone(UTC): n for at, n in few.over_time.itertuples(index=False)}
    assert per_hour[utc(27, 20)] == 4 and sum(per_hour.values()) == ALL.signatures
    assert few.headline.signatures == ALL.signatures and few.headline.members == ALL.members
    assert few.members["members"].sum() == ALL.members and few.social["events"].sum() == ALL.social
    # One more signature months later: per day again.
    seeded.recorder.record_signatures(
        [
            SignatureInput(
                "kenya", seeded.vault.sender("+254712345699"), "web", "web", "import:late", utc(1, 9, month=6)
            )
        ]
    )
    many = rows.view(seeded.engine, Filters(), TZ)
    assert not many.hourly
    per_day = {at.astimezone(UTC): n for at, n in many.over_time.itertuples(index=False)}
    assert per_day[datetime(2008, 2, 27, tzinfo=UTC)] == 5 and sum(per_day.values()) == ALL.signatures + 1


def test_members_and_social_activity_over_time(connection: Connection) -> None:
    where = scope(connection, Filters(), TZ)
    assert history.members(connection, where, hourly=True) == [(utc(27, 20), 1), (utc(10, 11, month=3), 1)]
    assert history.social(connection, where, hourly=True) == [
        (utc(27, 20), "facebook", "join", 3),
        (utc(10, 9, month=3), "flickr", "photo", 1),
    ]
    day = datetime(2008, 2, 27, tzinfo=UTC)
    assert history.members(connection, where)[0] == (day, 1), "per day over a long range"
    assert history.social(connection, where)[0] == (day, "facebook", "join", 3)
    for from_rollups in (True, False):
        assert history.members_total(connection, where, from_rollups=from_rollups) == 2
        assert history.social_total(connection, where, from_rollups=from_rollups) == 4


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (Filters(appeals=("nobody",)), "no appeal 'nobody'"),
        (Filters(campaigns=("nothing",)), "no campaign 'nothing'"),
        (Filters(countries=("Netherlands",)), "country 'Netherlands' is not a two-letter ISO code"),
        (Filters(outcome="freed"), "outcome 'freed' is not one of good, bad, none"),
        (Filters(start=date(2008, 3, 1), end=date(2008, 2, 1)), "from 2008-03-01 is after to 2008-02-01"),
        (Filters(channels=("s m s",)), "channel 's m s' is not a word"),
    ],
)
def test_bad_filters_are_refused_by_name(connection: Connection, filters: Filters, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        scope(connection, filters, TZ)


def test_rebuild_equals_what_the_write_paths_kept(seeded: Runtime) -> None:
    with seeded.engine.connect() as connection:
        incremental = rollups.snapshot(connection)
    assert sum(row[-1] for row in incremental["signature_hours"]) == 10
    assert sum(row[-1] for row in incremental["signature_days"]) == 10
    assert sum(row[-1] for row in incremental["signature_months"]) == 10
    assert sum(row[-1] for row in incremental["member_hours"]) == 2
    assert sum(row[-1] for row in incremental["social_hours"]) == 4
    counts = rollups.rebuild(seeded.engine)
    with seeded.engine.connect() as connection:
        assert rollups.snapshot(connection) == incremental
    assert counts == {name: len(rows) for name, rows in incremental.items()}
    # The member who joined on 4777 counts for the appeal featured there, after a rebuild too.
    with seeded.engine.connect() as connection:
        hassan_id = next(i for i, row in _appeals(connection).items() if row["slug"] == "hassan")
    assert (rollups.hour_of(utc(27, 20)), hassan_id, "NL", 1) in incremental["member_hours"]
    assert (rollups.hour_of(utc(10, 11, month=3)), rollups.NO_APPEAL, "KE", 1) in incremental["member_hours"]


def test_rebuild_restores_lost_rollups(seeded: Runtime) -> None:
    with seeded.engine.begin() as connection:
        before = rollups.snapshot(connection)
        for table in rollups.TABLES:
            connection.execute(table.delete())
    rollups.rebuild(seeded.engine)
    with seeded.engine.connect() as connection:
        assert rollups.snapshot(connection) == before


def test_the_rollup_migration_fills_what_the_write_paths_kept(seeded: Runtime) -> None:
    """Migration 0007 fills the rollups of existing rows with its own SQL, not today's code."""
    from alembic import command

    with seeded.engine.connect() as connection:
        kept = rollups.snapshot(connection)
    config = db.alembic_config(seeded.engine)
    command.downgrade(config, "0006")  # drops the rollup tables
    command.upgrade(config, "head")  # makes and fills them again
    with seeded.engine.connect() as connection:
        assert rollups.snapshot(connection) == kept


def test_random_data_and_filters_read_the_same_from_rollups_as_from_raw_rows(
    runtime: Runtime, hassan: AppealSummary, kenya: AppealSummary
) -> None:
    """Signatures spread over 14 months and random filters: every query, rollups against raw rows."""
    import random

    rng = random.Random(6)
    engine, vault = runtime.engine, runtime.vault
    phones = [f"+3161234{i:04d}" for i in range(60)] + [f"+25471234{i:04d}" for i in range(40)]
    senders = {phone: vault.sender(phone) for phone in phones}
    start = datetime(2007, 11, 20, tzinfo=UTC)
    inputs = [
        SignatureInput(
            rng.choice(["hassan", "kenya"]),
            senders[rng.choice(phones)],
            *rng.choice([("sms", "twilio"), ("sms", "vonage"), ("web", "web")]),
            f"random:{i}",
            start + timedelta(minutes=rng.randrange(14 * 30 * 24 * 60)),
        )
        for i in range(400)
    ]
    runtime.recorder.record_signatures(inputs)
    with engine.connect() as connection:
        for _ in range(25):
            first = date(2007, 11, 1) + timedelta(days=rng.randrange(420))
            filters = Filters(
                start=rng.choice([None, first]),
                end=rng.choice([None, first + timedelta(days=rng.choice([0, 3, 40, 200]))]),
                appeals=rng.choice([(), ("hassan",)]),
                channels=rng.choice([(), ("sms",)]),
                countries=rng.choice([(), ("KE",), ("NL", "KE")]),
            )
            where = scope(connection, filters, TZ)
            for query in (history.by_country, history.by_channel, history.by_appeal, history.over_time):
                assert query(connection, where) == query(connection, where, from_rollups=False), (
                    query,
                    filters,
                )
            busiest = history.peaks(connection, where, 8, from_rollups=False)
            assert history.peaks(connection, where, 8) == busiest, filters
            # As the History page asks: starting from the days (or hours) over_time counted.
            counts = history.over_time_counts(connection, where)
            assert history.peaks(connection, where, 8, series=counts) == busiest, filters
