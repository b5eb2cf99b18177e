"""The write path and the live view: exactly once, and Redis always equal to the database."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from campaign.appeals import registry as appeals
from campaign.inbound.keywords import Intent
from campaign.inbound.message import InboundSms
from campaign.live.rebuild import recount
from campaign.live.reconcile import reconcile
from campaign.runtime import Runtime
from campaign.storage import shards
from campaign.storage.models import NETWORK, Appeal, Signature, Supporter, Tally
from tests.conftest import flush_redis

NUMBERS = [f"+3161234{n:04d}" for n in range(40)]
_ids = itertools.count()


def sms(rt: Runtime, sender: str, text: str, message_id: str | None = None, to: str = "4777") -> InboundSms:
    return InboundSms(
        provider="twilio",
        message_id=message_id or f"SM{next(_ids):08d}",
        sender=rt.vault.sender(sender),
        short_code=to,
        text=text,
        received_at=datetime.now(UTC),
    )


def live_equals_database(rt: Runtime, slugs: list[str]) -> None:
    truth = recount(rt.engine)
    directory = rt.recorder.directory()
    for slug in slugs:
        appeal_id = directory.by_slug[slug].id
        figures = rt.live.figures(slug)
        assert figures is not None
        assert figures.signatures == truth.get((appeal_id, "total", ""), 0), slug
        channels = {k[2]: n for k, n in truth.items() if k[0] == appeal_id and k[1] == "channel"}
        assert figures.channels == channels
        countries = {k[2]: n for k, n in truth.items() if k[0] == appeal_id and k[1] == "country"}
        assert {c["country"]: c["signatures"] for c in figures.countries} == countries
    assert rt.live.members() == truth.get((NETWORK, "members", ""), 0)
    with rt.engine.connect() as connection:
        stored = {(a, k, key): n for a, k, key, n in connection.execute(shards.summed(Tally.__table__))}
    assert {k: v for k, v in stored.items() if v} == truth


def test_bare_ja_signs_the_latest_alert_else_the_featured_appeal(
    runtime: Runtime, hassan: object, kenya: object
) -> None:
    outcome = runtime.recorder.record([sms(runtime, NUMBERS[0], "JA")]).outcomes[0]
    assert (outcome.intent, outcome.appeal_slug, outcome.counted) == (Intent.SIGN, "hassan", True)
    with runtime.engine.begin() as connection:
        kenya_id = connection.scalar(select(Appeal.id).where(Appeal.slug == "kenya"))
        connection.execute(update(Supporter).values(latest_alert_appeal_id=kenya_id))
    outcome = runtime.recorder.record([sms(runtime, NUMBERS[0], "ja")]).outcomes[0]
    assert (outcome.appeal_slug, outcome.counted, outcome.total) == ("kenya", True, 1)


def test_closed_appeals_thank_but_do_not_count(runtime: Runtime, hassan: object) -> None:
    appeals.close_appeal(runtime.engine, "hassan")
    outcome = runtime.recorder.record([sms(runtime, NUMBERS[0], "HASSAN")]).outcomes[0]
    assert (outcome.appeal_slug, outcome.counted) == ("hassan", False)
    assert outcome.reply is not None and "gesloten" in outcome.reply  # a Dutch number
    no_featured = runtime.recorder.record([sms(runtime, NUMBERS[1], "JA")]).outcomes[0]
    assert no_featured.appeal_slug is None
    assert no_featured.reply is not None and "geen open oproep" in no_featured.reply


def test_a_batch_with_repeats_counts_once(runtime: Runtime, hassan: object) -> None:
    first = sms(runtime, NUMBERS[0], "JA", "SMdup")
    batch = [first, first, sms(runtime, NUMBERS[0], "ja"), sms(runtime, NUMBERS[1], "hassan")]
    result = runtime.recorder.record(batch)
    assert [o.counted for o in result.outcomes] == [True, False, False, True]
    assert [o.retry for o in result.outcomes] == [False, True, False, False]
    assert result.changes.tallies["hassan"]["total"] == 2
    runtime.live.apply(result.changes)
    live_equals_database(runtime, ["hassan"])


def test_stop_keeps_signatures_and_start_undoes_it(runtime: Runtime, hassan: object) -> None:
    runtime.recorder.record([sms(runtime, NUMBERS[0], "JOIN"), sms(runtime, NUMBERS[0], "JA")])
    runtime.recorder.record([sms(runtime, NUMBERS[0], "STOP")])
    with runtime.engine.connect() as connection:
        supporter = connection.execute(select(Supporter.opted_out, Supporter.subscribed)).one()
        assert tuple(supporter) == (True, False)
        assert connection.scalar(select(func.count()).select_from(Signature)) == 1
    runtime.recorder.record([sms(runtime, NUMBERS[0], "START")])
    with runtime.engine.connect() as connection:
        supporter = connection.execute(select(Supporter.opted_out, Supporter.subscribed)).one()
        assert tuple(supporter) == (False, True)


def test_join_counts_a_new_member_once(runtime: Runtime) -> None:
    for _ in range(3):
        result = runtime.recorder.record([sms(runtime, NUMBERS[0], "LID")])
        runtime.live.apply(result.changes)
    assert runtime.live.members() == 1


def test_reconcile_repairs_tallies_and_redis(runtime: Runtime, hassan: object) -> None:
    result = runtime.recorder.record([sms(runtime, n, "JA") for n in NUMBERS[:5]])
    runtime.live.apply(result.changes)
    with runtime.engine.begin() as connection:  # a tally gone wrong, as after a bug
        connection.execute(update(Tally).where(Tally.kind == "total").values(count=99))
    runtime.redis.hset("campaign:{a:hassan}:tally", "country:NL", 1234)
    differences = reconcile(runtime.engine, runtime.live, runtime.vault)
    assert "hassan: database tally total was 99, counted 5" in differences
    assert any("country:NL was 1234 in Redis" in line for line in differences)
    live_equals_database(runtime, ["hassan"])
    assert reconcile(runtime.engine, runtime.live, runtime.vault) == []


def test_redis_emptied_is_rebuilt_from_the_database(runtime: Runtime, hassan: object) -> None:
    result = runtime.recorder.record([sms(runtime, n, "JA") for n in NUMBERS[:7]])
    runtime.live.apply(result.changes)
    flush_redis(runtime.redis)
    assert not runtime.live.is_ready()
    runtime.live.refresh(runtime.engine, runtime.vault)
    live_equals_database(runtime, ["hassan"])
    recent = runtime.live.figures("hassan")
    assert recent is not None and len(recent.recent) == 7
    assert all("•••" in entry["number"] for entry in recent.recent)


def test_a_routine_rebuild_never_drops_an_appeal_reconcile_does(runtime: Runtime, hassan: object) -> None:
    # An appeal added while a keeper's rebuild runs is missing from that rebuild's snapshot:
    # as far as the rebuild can tell, it is in Redis but not in the database.
    runtime.live.publish_appeal({"slug": "newcomer", "title": "Added while rebuilding"})
    differences = runtime.live.refresh(runtime.engine, runtime.vault)
    assert "newcomer: in Redis but not in the database" in differences
    assert "newcomer" in runtime.live.slugs()
    assert "newcomer: in Redis but not in the database; removed" in reconcile(
        runtime.engine, runtime.live, runtime.vault
    )
    assert "newcomer" not in runtime.live.slugs() and "hassan" in runtime.live.slugs()


# -- any interleaving keeps Redis equal to the database -----------------------------------------
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("sign"), st.integers(0, 7), st.sampled_from(["a", "b", "bare"])),
        st.tuples(st.just("retry"), st.integers(0, 50), st.just("")),
        st.tuples(st.sampled_from(["stop", "start", "join"]), st.integers(0, 7), st.just("")),
        st.tuples(st.sampled_from(["commit", "redis-lost", "reconcile", "flush"]), st.just(0), st.just("")),
    ),
    max_size=40,
)
_example = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_interleaving_keeps_redis_equal_to_the_database(
    runtime: Runtime, operations: list[tuple[str, int, str]]
) -> None:
    n = next(_example)
    slugs = {"a": f"a{n}", "b": f"b{n}"}
    for slug in slugs.values():
        summary = appeals.add_appeal(
            runtime.engine, slug=slug, title=slug, campaign="prop", keywords=[slug.upper()]
        )
        runtime.live.publish_appeal(summary.public())
    appeals.feature_appeal(runtime.engine, slugs["a"], f"P{n}")
    numbers = [f"+3161{n:03d}{i:04d}" for i in range(8)]
    sent: list[InboundSms] = []
    pending: list[InboundSms] = []
    signers: Counter[str] = Counter()
    redis_lost = False

    def commit() -> None:
        nonlocal redis_lost
        if pending:
            result = runtime.recorder.record(pending)
            if not redis_lost:
                runtime.live.apply(result.changes)
            pending.clear()
        redis_lost = False

    for kind, who, which in operations:
        if kind == "sign":
            text = "JA" if which == "bare" else f"ja {slugs[which]}"
            message = sms(runtime, numbers[who], text, to=f"P{n}")
            sent.append(message)
            pending.append(message)
            signers[f"{slugs['a'] if which == 'bare' else slugs[which]}:{who}"] += 1
        elif kind == "retry" and sent:
            pending.append(sent[who % len(sent)])
        elif kind in {"stop", "start", "join"}:
            pending.append(sms(runtime, numbers[who], kind.upper(), to=f"P{n}"))
        elif kind == "commit":
            commit()
        elif kind == "redis-lost":
            redis_lost = True  # the next batch's Redis write fails
        elif kind == "reconcile":
            commit()
            reconcile(runtime.engine, runtime.live, runtime.vault)
        elif kind == "flush":
            commit()
            flush_redis(runtime.redis)
            runtime.live.refresh(runtime.engine, runtime.vault)  # what the ingest keeper does
    lost = redis_lost or any(op[0] == "redis-lost" for op in operations)
    commit()
    if lost:
        runtime.live.refresh(runtime.engine, runtime.vault)  # the keeper's catch-up
    live_equals_database(runtime, list(slugs.values()))
    for key, slug in slugs.items():
        figures = runtime.live.figures(slug)
        assert figures is not None
        assert figures.signatures == len({s for s in signers if s.startswith(f"{slug}:")}), key
