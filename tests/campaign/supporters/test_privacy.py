"""No full phone number in the database, Redis, logs or answers; erasure leaves no trace.

Erasure, subject access and retention run on SQLite + embedded Redis and on PostgreSQL +
server Redis; traces are looked for generically: every column of every table (and the
SQLite file itself, or a pg_dump), every Redis key and value, the spool, the logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from campaign.inbound.message import InboundSms, Part
from campaign.inbound.spool import Spool
from campaign.live.rebuild import recount
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage import shards
from campaign.storage.models import AuditEntry, InboundMessage, MessagePart, Signature, Supporter, Tally
from campaign.supporters import privacy
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, Server, backend_env, post_twilio, twilio_form
from tests.support import cli_process

NUMBER = "+31612345678"
DIGITS = "612345678"
OTHER = "+32470123456"


def forms_of(number: str) -> list[str]:
    """The ways a full number may be written: E.164, international digits, national forms."""
    national = number[3:]  # every number here has a two-digit country code
    return [number, number[1:], national, "0" + national, f"0{national[0]} {national[1:]}", "00" + number[1:]]


def cli(settings: Settings, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        **backend_env(settings),
        "COLUMNS": "200",
        **env,
    }
    return cli_process.run(
        args,
        env=environment,
        input=stdin,
        timeout=120,
        cwd=settings.data_dir.parent,
    )


def database_text(rt: Runtime) -> str:
    """Every value of every column of every table, as text."""
    metadata = MetaData()
    metadata.reflect(rt.engine)
    lines = []
    with rt.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                lines.append(f"{table.name}: {tuple(row)!r} {json.dumps(list(row), default=str)}")
    return "\n".join(lines)


def database_files(rt: Runtime) -> bytes:
    """The stored bytes: the SQLite file and its write-ahead log, or a dump of PostgreSQL."""
    url = rt.engine.url
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    plain = make_url(str(url.set(drivername="postgresql"))).render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--data-only", plain], capture_output=True, check=True, timeout=60
    ).stdout


def redis_text(rt: Runtime) -> str:
    """Every Redis key with its value, read by type, and its serialised DUMP."""
    client = rt.redis
    parts = []
    for key in client.scan_iter("*"):
        kind = client.type(key)
        value: object = None
        if kind == "string":
            value = client.get(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = client.xrange(key)
        parts.append(f"{key} {kind} {value!r} {client.dump(key)!r}")
    return "\n".join(parts)


def spool_text(rt: Runtime, spool: Spool) -> str:
    return "\n".join(json.dumps(m.to_json()) for path in spool.pending() for m in spool.load(path))


def assert_nowhere(haystacks: dict[str, str | bytes], needles: Iterable[str]) -> None:
    for name, haystack in haystacks.items():
        for needle in needles:
            found = needle.encode() in haystack if isinstance(haystack, bytes) else needle in haystack
            assert not found, f"{needle!r} found in {name}"


def counts(rt: Runtime) -> dict[str, object]:
    """The anonymous figures: tallies, signatures per appeal, the live view."""
    with rt.engine.connect() as connection:
        tallies = sorted(connection.execute(shards.summed(Tally.__table__)).all())
        per_appeal = sorted(
            connection.execute(select(Signature.appeal_id, func.count()).group_by(Signature.appeal_id)).all()
        )
    live = {
        f.slug: (
            f.signatures,
            f.channels,
            f.countries,
            {m["minute"]: m["signatures"] for m in f.per_minute if m["signatures"]},
        )
        for f in rt.live.many_figures(rt.live.slugs())
    }
    return {"tallies": tallies, "per_appeal": per_appeal, "live": live, "members": rt.live.members()}


def stored_tallies(rt: Runtime) -> dict[tuple[int, str, str], int]:
    with rt.engine.connect() as connection:
        rows = connection.execute(shards.summed(Tally.__table__))
        return {(a, k, key): n for a, k, key, n in rows if n}


def sms(rt: Runtime, sender: str, text: str, message_id: str, part: Part | None = None) -> InboundSms:
    return InboundSms("twilio", message_id, rt.vault.sender(sender), "4777", text, datetime.now(UTC), part)


def supporter_of(rt: Runtime, number: str) -> Supporter | None:
    with Session(rt.engine) as session:
        return session.scalars(select(Supporter).where(Supporter.phone_hash == rt.vault.hash(number))).first()


# -- masking: nothing in clear, whatever is sent ---------------------------------------------------
@pytest.mark.usefixtures("hassan")
def test_a_number_is_nowhere_in_clear(ingest_server: Server, runtime: Runtime) -> None:
    with httpx.Client(base_url=ingest_server.url) as http:
        answers = [
            post_twilio(http, twilio_form("SMp1", NUMBER, "JA")),
            post_twilio(http, twilio_form("SMp2", NUMBER, "what is this")),
            post_twilio(http, twilio_form("SMp3", NUMBER, "STOP")),
            http.post(
                "/webhooks/twilio",
                data=twilio_form("SMp4", NUMBER, "JA"),
                headers={"X-Twilio-Signature": "forged"},
            ),
            http.get(
                "/webhooks/vonage",
                params={"msisdn": NUMBER[1:], "to": "4777", "messageId": "V1", "text": "JA"},
            ),
            http.get("/api/v1/appeals/hassan"),
            http.get("/api/v1/appeals"),
        ]
    for answer in answers:
        assert DIGITS not in answer.text
    ingest_server.stop()
    assert_nowhere(
        {
            "ingest log": ingest_server.log.read_text(),
            "redis": redis_text(runtime),
            "database": database_text(runtime),
            "database files": database_files(runtime),
        },
        forms_of(NUMBER),
    )


# -- forget -----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("hassan", "kenya")
def test_forget_leaves_no_trace_and_keeps_the_counts(
    ingest_server: Server, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    with httpx.Client(base_url=ingest_server.url) as http:
        for form in [
            twilio_form("SMf1", NUMBER, "JA"),
            twilio_form("SMf2", NUMBER, "JA KENYA"),
            twilio_form("SMf3", NUMBER, "what is this"),
            twilio_form("SMf4", NUMBER, "JOIN"),
            twilio_form("SMo1", OTHER, "JA"),
            twilio_form("SMo2", OTHER, "something odd"),
        ]:
            assert post_twilio(http, form).status_code == 200
    ingest_server.stop()
    # Half of a long text, and texts waiting in the spool while the database was away.
    runtime.recorder.record([sms(runtime, NUMBER, "JA HAS", "SMpart1", Part("ref7", 1, 2))])
    spool = Spool(settings.spool_dir, runtime.vault)
    spool.append([sms(runtime, NUMBER, "JA", "SMs1"), sms(runtime, OTHER, "JA KENYA", "SMs2")])

    old = supporter_of(runtime, NUMBER)
    assert old is not None and old.phone_encrypted is not None and old.phone_hash is not None
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(MessagePart)) == 1
    masked = "+31 6 ••• ••• 78"
    assert masked in redis_text(runtime)
    before = counts(runtime)

    done = cli(settings, "supporter", "forget", "+31 6 1234 5678", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"erased {masked}" in done.stdout and "signatures 2" in done.stdout
    assert "1 spooled text(s) dropped" in done.stdout

    traces = [*forms_of(NUMBER), old.phone_hash, old.phone_encrypted]
    assert_nowhere(
        {
            "database": database_text(runtime),
            "database files": database_files(runtime),
            "redis": redis_text(runtime),
            "spool": spool_text(runtime, spool),
            "ingest log": ingest_server.log.read_text(),
            "command output": done.stdout + done.stderr,
        },
        traces,
    )
    assert masked not in redis_text(runtime), "the ticker forgot the masked number too"
    # Everyone else is untouched; the counts did not move, in SQL or in Redis.
    assert counts(runtime) == before
    assert runtime.live.refresh(runtime.engine, runtime.vault) == []
    assert stored_tallies(runtime) == recount(runtime.engine)
    other = supporter_of(runtime, OTHER)
    assert other is not None and runtime.vault.decrypt(other.phone_encrypted or "") == OTHER
    with Session(runtime.engine) as connection:
        anonymous = connection.execute(select(Supporter).where(Supporter.id == old.id)).scalar_one()
        assert anonymous.phone_hash is None and anonymous.phone_encrypted is None
        assert anonymous.erased_at is not None and anonymous.member_since is not None
        assert connection.scalar(select(func.count()).where(Signature.supporter_id == old.id)) == 2
        assert connection.scalar(select(func.count()).where(InboundMessage.supporter_id == old.id)) == 0
        assert connection.scalar(select(func.count()).where(InboundMessage.supporter_id == other.id)) == 2
        (entry,) = connection.execute(
            select(AuditEntry).where(AuditEntry.action == "supporter.forget")
        ).scalars()
        assert entry.subject == f"supporter:{old.id}" and entry.actor.startswith("cli")
    (left,) = [m for path in spool.pending() for m in spool.load(path)]
    assert left.message_id == "SMs2"

    # The same number texting again is a new supporter, counted anew and linked to nothing.
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL) as client:
        answer = post_twilio(client, twilio_form("SMf9", NUMBER, "JA"))
        assert answer.status_code == 200
    new = supporter_of(runtime, NUMBER)
    assert new is not None and new.id != old.id and new.member_since is None
    hassan = runtime.live.figures("hassan")
    assert hassan is not None and hassan.signatures == before["live"]["hassan"][0] + 1  # type: ignore[index]


@pytest.mark.usefixtures("hassan")
def test_forget_in_process_runs_registered_erasers(runtime: Runtime, settings: Settings) -> None:
    runtime.recorder.record([sms(runtime, NUMBER, "JA", "SMr1"), sms(runtime, OTHER, "JA", "SMr2")])
    supporter = supporter_of(runtime, NUMBER)
    assert supporter is not None
    seen: list[list[int]] = []

    @privacy.register_eraser("test-outbox")
    def _outbox(connection: object, subjects: list[privacy.Subject]) -> int:
        seen.append([s.supporter_id for s in subjects])
        return 3

    try:
        report = privacy.forget(
            runtime.engine, runtime.vault, "0031612345678", live=runtime.live, spool=None, actor="t"
        )
    finally:
        privacy._erasers.pop("test-outbox")
    assert seen == [[supporter.id]] and report.rows["test-outbox"] == 3
    assert supporter_of(runtime, NUMBER) is None and supporter_of(runtime, OTHER) is not None


# -- the command line -------------------------------------------------------------------------------
@pytest.mark.usefixtures("hassan")
def test_forget_and_export_give_one_clear_line_for_a_bad_or_unknown_number(
    runtime: Runtime, settings: Settings
) -> None:
    runtime.recorder.record([sms(runtime, NUMBER, "JA", "SMc1")])
    cases = [
        (("supporter", "forget", "hello", "--yes"), "error: the number could not be read"),
        (("supporter", "forget", "0612345678", "--yes"), "pass --region"),
        (
            ("supporter", "forget", "+31612345699", "--yes"),
            "error: no supporter is known by +31 6 ••• ••• 99",
        ),
        (("supporter", "export", "+3161", "--output", "x.json"), "error: the number is not a possible"),
        (("supporter", "export", "+4915112345678"), "error: no supporter is known by +49 1 ••• ••• 78"),
    ]
    for args, message in cases:
        done = cli(settings, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr and DIGITS not in done.stdout + done.stderr
    # Without --yes it asks; anything but yes erases nothing.
    refused = cli(settings, "supporter", "forget", "0612345678", "--region", "nl", stdin="n\n")
    assert refused.returncode != 0 and "+31 6 ••• ••• 78" in refused.stderr
    assert supporter_of(runtime, NUMBER) is not None
    agreed = cli(settings, "supporter", "forget", "0612345678", "--region", "nl", stdin="y\n")
    assert agreed.returncode == 0, agreed.stderr
    assert supporter_of(runtime, NUMBER) is None


# -- subject access ---------------------------------------------------------------------------------
@pytest.mark.usefixtures("hassan", "kenya")
def test_export_gives_the_person_their_own_data(
    client: TestClient, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    for form in [
        twilio_form("SMe1", NUMBER, "JA"),
        twilio_form("SMe2", NUMBER, "JA KENYA"),
        twilio_form("SMe3", NUMBER, "is this amnesty?"),
        twilio_form("SMe4", NUMBER, "JOIN"),
        twilio_form("SMe5", OTHER, "JA"),
    ]:
        assert post_twilio(client, form).status_code == 200
    target = tmp_path / "subject.json"
    done = cli(settings, "supporter", "export", "+31 (0)6 12345678", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert DIGITS not in done.stdout + done.stderr and "+31 6 ••• ••• 78" in done.stderr
    assert target.stat().st_mode & 0o077 == 0, "readable by its owner only"
    data = json.loads(target.read_text())
    assert data["number"] == NUMBER and data["country"] == "NL"
    assert data["subscribed"] is True and data["opted_out"] is False and data["member_since"]
    assert [(s["appeal"], s["channel"]) for s in data["signatures"]] == [("hassan", "sms"), ("kenya", "sms")]
    assert data["signatures"][0]["title"] == "Stop the torture of Hassan"
    received = data["messages_received"]
    assert [m["understood_as"] for m in received] == ["sign", "sign", "unknown", "join"]
    assert [m["text"] for m in received] == [None, None, "is this amnesty?", None]
    assert datetime.fromisoformat(data["first_seen_at"]) <= datetime.fromisoformat(
        data["signatures"][0]["signed_at"]
    )
    assert OTHER not in json.dumps(data)
    # Printed without --output; the export is audited without the number.
    printed = cli(settings, "supporter", "export", NUMBER)
    assert json.loads(printed.stdout)["number"] == NUMBER
    with Session(runtime.engine) as connection:
        audited = (
            connection.execute(select(AuditEntry).where(AuditEntry.action == "supporter.export"))
            .scalars()
            .all()
        )
    assert len(audited) == 2 and all(DIGITS not in f"{a.subject}{a.detail}" for a in audited)


# -- retention --------------------------------------------------------------------------------------
@pytest.mark.usefixtures("hassan")
def test_retention_erases_only_the_long_inactive_and_keeps_counts(
    runtime: Runtime, settings: Settings
) -> None:
    numbers = [NUMBER, OTHER, "+4915112345678"]
    runtime.live.apply(
        runtime.recorder.record([sms(runtime, n, "JA", f"SMt{i}") for i, n in enumerate(numbers)]).changes
    )
    now = datetime.now(UTC)
    with runtime.engine.begin() as connection:  # move times: two went quiet long ago
        for number, months in ((NUMBER, 14), (OTHER, 13)):
            connection.execute(
                update(Supporter)
                .where(Supporter.phone_hash == runtime.vault.hash(number))
                .values(
                    last_active_at=now - timedelta(days=31 * months), first_seen_at=now - timedelta(days=800)
                )
            )
    # The write path moves a returning supporter's activity forward: OTHER texts again.
    runtime.live.apply(runtime.recorder.record([sms(runtime, OTHER, "what?", "SMt9")]).changes)
    other = supporter_of(runtime, OTHER)
    assert other is not None and other.last_active_at is not None and other.last_active_at > now
    before = counts(runtime)

    off = cli(settings, "retention", "run")
    assert off.returncode == 0 and "retention is off" in off.stdout
    dry = cli(settings, "retention", "run", "--dry-run", CAMPAIGN_RETENTION_MONTHS="12")
    assert dry.returncode == 0, dry.stderr
    assert "1 supporter(s) inactive since" in dry.stdout and "would be erased (dry run)" in dry.stdout
    assert supporter_of(runtime, NUMBER) is not None

    run = cli(settings, "retention", "run", CAMPAIGN_RETENTION_MONTHS="12")
    assert run.returncode == 0, run.stderr
    assert "1 supporter(s) erased" in run.stdout
    assert supporter_of(runtime, NUMBER) is None
    assert supporter_of(runtime, OTHER) is not None and supporter_of(runtime, "+4915112345678") is not None
    assert counts(runtime) == before
    assert DIGITS not in database_text(runtime) + redis_text(runtime)
    again = cli(settings, "retention", "run", "--months", "12")
    assert "0 supporter(s) erased" in again.stdout
    with Session(runtime.engine) as connection:
        (entry,) = connection.execute(
            select(AuditEntry).where(AuditEntry.action == "supporter.forget")
        ).scalars()
    assert entry.detail == {"reason": "retention 12 months"}


# -- the migration ----------------------------------------------------------------------------------
def test_migration_dates_existing_supporters_by_their_latest_action(runtime: Runtime) -> None:
    """0009 on a database with supporters: last activity from signatures and texts; and back."""
    from alembic import command

    from campaign.storage import db

    config = db.alembic_config(runtime.engine)
    command.downgrade(config, "0008")
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO campaigns (id, slug, name, created_at) VALUES (1, 'c', 'c', '2020-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO appeals (id, campaign_id, slug, title, person, sms_text, keywords, language,"
            " reply_templates, target_authority, target_email, target_fax, country, status, opened_at)"
            " VALUES (1, 1, 'a', 'a', '', '', '[]', 'en', '{}', '', '', '', '', 'open', '2020-01-01')"
        )
    with Session(runtime.engine) as session, session.begin():
        for i in (1, 2):
            session.execute(
                Supporter.__table__.insert().values(
                    id=i,
                    phone_hash=f"h{i}",
                    country="NL",
                    first_seen_at=start,
                    subscribed=False,
                    opted_out=False,
                )
            )
        session.execute(
            Signature.__table__.insert().values(
                appeal_id=1,
                supporter_id=1,
                channel="sms",
                provider="t",
                provider_message_id="m",
                country="NL",
                received_at=start + timedelta(days=30),
            )
        )
        session.execute(
            InboundMessage.__table__.insert().values(
                provider="t",
                provider_message_id="x",
                supporter_id=1,
                short_code="4777",
                intent="unknown",
                received_at=start + timedelta(days=60),
            )
        )
    command.upgrade(config, "head")
    with runtime.engine.connect() as connection:
        dated = dict(connection.execute(select(Supporter.id, Supporter.last_active_at)).all())
    assert dated == {1: start + timedelta(days=60), 2: start}
    command.downgrade(config, "0008")
    command.upgrade(config, "head")


@pytest.mark.usefixtures("hassan")
def test_retention_keeps_running_every_period(runtime: Runtime, settings: Settings) -> None:
    """What `campaign up` starts when CAMPAIGN_RETENTION_MONTHS is set: a run now, then again later."""
    runtime.recorder.record([sms(runtime, NUMBER, "JA", "SMv1")])
    with runtime.engine.begin() as connection:
        connection.execute(update(Supporter).values(last_active_at=datetime.now(UTC) - timedelta(days=400)))
    environment = {
        **os.environ,
        **backend_env(settings),
        "CAMPAIGN_RETENTION_MONTHS": "12",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "retention", "run", "--every", "86400"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=settings.data_dir.parent,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "1 supporter(s) erased" in first, first
        assert process.poll() is None, "it waits for the next run"
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert supporter_of(runtime, NUMBER) is None
