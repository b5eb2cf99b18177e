"""The `campaign` command as a person uses it: in a real process, reading CAMPAIGN_* settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from campaign import audit
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import NETWORK, Signature, Tally
from tests.conftest import backend_env
from tests.support import cli_process


def campaign(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        **backend_env(settings),
        "COLUMNS": "200",
        **(env or {}),
    }
    return cli_process.run(
        args,
        env=environment,
        timeout=120,
        cwd=settings.data_dir.parent,
    )


def test_appeal_add_list_feature_close_reopen_edit(settings: Settings, runtime: Runtime) -> None:
    added = campaign(
        settings,
        "appeal", "add", "--slug", "hassan", "--title", "Stop the torture of Hassan",
        "--campaign", "torture", "--person", "Hassan", "--keyword", "HASSAN", "--goal", "5000",
        "--sms-text", "Hassan is at risk of torture. Reply JA to act.",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added appeal hassan" in added.stdout
    featured = campaign(settings, "appeal", "feature", "hassan", "--short-code", "4777")
    assert featured.returncode == 0 and "4777" in featured.stdout
    listing = campaign(settings, "appeal", "list")
    assert "hassan" in listing.stdout and "4777" in listing.stdout and "5,000" in listing.stdout
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.goal == 5000
    closed = campaign(settings, "appeal", "close", "hassan")
    assert closed.returncode == 0 and "closed appeal hassan" in closed.stdout
    assert runtime.recorder.directory().by_slug["hassan"].status == "closed"
    reopened = campaign(settings, "appeal", "reopen", "hassan")
    assert reopened.returncode == 0 and "reopened appeal hassan" in reopened.stdout
    assert runtime.recorder.directory().by_slug["hassan"].status == "open"
    assert runtime.live.figures("hassan").status == "open"  # type: ignore[union-attr]
    edited = campaign(
        settings, "appeal", "edit", "hassan", "--keyword", "HASSAN", "--keyword", "FREEHASSAN",
        "--translation", "fr=Merci ! Vous soutenez {person}.",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    assert "keywords: HASSAN FREEHASSAN" in edited.stdout and "thank-you texts: fr" in edited.stdout
    entries = [(e.action, e.subject) for e in reversed(audit.recent(runtime.engine))]
    assert entries == [
        ("appeal.add", "hassan"),
        ("appeal.feature", "hassan"),
        ("appeal.close", "hassan"),
        ("appeal.reopen", "hassan"),
        ("appeal.edit", "hassan"),
    ]
    assert {e.actor for e in audit.recent(runtime.engine)} == {audit.cli_actor()}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["appeal", "add", "--slug", "Bad Slug", "--title", "t", "--campaign", "c"],
            "use lower-case letters",
        ),
        (
            ["appeal", "add", "--slug", "x", "--title", "t", "--campaign", "c", "--sms-text", "x" * 161],
            "161 characters",
        ),
        (
            ["appeal", "add", "--slug", "x", "--title", "t", "--campaign", "c", "--thank-you", "{nope}"],
            "unknown placeholder",
        ),
        (["appeal", "close", "nobody"], "no appeal 'nobody'"),
        (["appeal", "reopen", "nobody"], "no appeal 'nobody'"),
        (["import", "signatures", "/nonexistent.csv"], "No such file"),
    ],
)
def test_mistakes_get_one_clear_line(
    settings: Settings, runtime: Runtime, args: list[str], message: str
) -> None:
    result = campaign(settings, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CAMPAIGN_INGEST_PORT", "eighty", "CAMPAIGN_INGEST_PORT"),
        (
            "CAMPAIGN_PUBLIC_URL",
            "campaign.example.org",
            "CAMPAIGN_PUBLIC_URL: Value error, must start with http",
        ),
        ("CAMPAIGN_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("CAMPAIGN_DATABASE_URL", "postgres-without-scheme", "CAMPAIGN_DATABASE_URL"),
        ("CAMPAIGN_DATABASE_URL", "mysql+nodriver://x/y", "no driver"),
    ],
)
def test_a_wrong_setting_is_one_line(settings: Settings, variable: str, value: str, message: str) -> None:
    result = campaign(settings, "db", "upgrade", env={variable: value})
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_another_secret_key_is_refused(settings: Settings, runtime: Runtime) -> None:
    result = campaign(settings, "appeal", "list", env={"CAMPAIGN_SECRET_KEY": "not-the-one"})
    assert result.returncode == 2
    assert "CAMPAIGN_SECRET_KEY: differs from the key" in result.stderr


def test_import_reports_bad_lines_and_never_imports_twice(
    settings: Settings, runtime: Runtime, hassan: object, tmp_path: Path
) -> None:
    csv = tmp_path / "signatures.csv"
    csv.write_text(
        "appeal,phone,signed_at,channel,provider\n"
        "hassan,+31612345678,2008-02-27T20:15:00+01:00,sms\n"
        "hassan,+32470123456,2008-02-27 21:00:00,web\n"
        "nobody,+31612345679,2008-02-27T20:15:00Z,sms\n"
        "hassan,not-a-number,2008-02-27T20:15:00Z,sms\n"
        "hassan,+31612345670,yesterday,sms\n"
        "hassan,+31612345671,2999-01-01T00:00:00Z,sms\n"
        "hassan,+31612345672,2008-02-27T20:15:00Z,carrier-pigeon\n"
        "hassan,+31612345678,2008-02-28T10:00:00Z,sms\n"  # the same person again
        'hassan,+31612345673,2008-02-27T20:15:00Z,sms,"=HYPERLINK(""http://x.example/"")"\n',
        encoding="utf-8",
    )
    first = campaign(settings, "import", "signatures", str(csv))
    assert first.returncode == 1
    assert "2 imported, 1 already there, 6 bad line(s)" in first.stdout
    for line, reason in [
        (4, "no appeal 'nobody'"),
        (5, "number could not be read"),
        (6, "not an ISO 8601 time"),
        (7, "in the future"),
        (8, "channel 'carrier-pigeon'"),
        (10, "provider '=HYPERLINK"),
    ]:
        assert f"signatures.csv:{line}: " in first.stderr and reason in first.stderr, (line, first.stderr)
    second = campaign(settings, "import", "signatures", str(csv))
    assert "0 imported, 3 already there" in second.stdout
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Signature)) == 2
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.signatures == 2
    assert figures.channels == {"sms": 1, "web": 1}


def test_a_large_import_is_checked_in_worker_processes_and_names_its_bad_lines(
    settings: Settings, runtime: Runtime, hassan: object, tmp_path: Path
) -> None:
    """Three chunks and more: the lines are checked in forked workers beside the progress bar."""
    from campaign.inbound.importer import CHUNK

    rows = [f"hassan,+3162{index:07d},2008-02-27T20:15:00Z" for index in range(CHUNK * 3)]
    rows[CHUNK + 7] = "hassan,not-a-number,2008-02-27T20:15:00Z"
    csv = tmp_path / "large.csv"
    csv.write_text("appeal,phone,signed_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = campaign(settings, "import", "signatures", str(csv))
    assert result.returncode == 1
    assert f"{CHUNK * 3 - 1:,} imported, 0 already there, 1 bad line(s)" in result.stdout
    assert f"large.csv:{CHUNK + 9}: the sender's number could not be read" in result.stderr
    again = campaign(settings, "import", "signatures", str(csv))
    assert f"0 imported, {CHUNK * 3 - 1:,} already there" in again.stdout


def test_import_without_the_needed_columns(settings: Settings, runtime: Runtime, tmp_path: Path) -> None:
    csv = tmp_path / "wrong.csv"
    csv.write_text("name,number\nx,+31612345678\n")
    result = campaign(settings, "import", "signatures", str(csv))
    assert result.returncode == 2
    assert "line 1: the header lacks appeal, phone, signed_at" in result.stderr


def test_reconcile_reports_what_it_fixed(settings: Settings, runtime: Runtime, hassan: object) -> None:
    runtime.redis.hset("campaign:{a:hassan}:tally", "total", 41)
    result = campaign(settings, "reconcile")
    assert result.returncode == 0, result.stderr
    assert "hassan: total was 41 in Redis, 0 in the database" in result.stdout
    assert runtime.live.figures("hassan").signatures == 0  # type: ignore[union-attr]


def test_fold_shards_reports_the_rows_folded(settings: Settings, runtime: Runtime) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Tally),
            [{"appeal_id": NETWORK, "kind": "members", "key": "", "shard": s, "count": 2} for s in (0, 4, 9)],
        )
    result = campaign(settings, "fold-shards")
    assert result.returncode == 0, result.stderr
    assert "tallies: 2 rows folded" in result.stdout
    assert "0 rows outside shard 0 left" in result.stdout
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Tally.shard, Tally.count)).all() == [(0, 6)]
    refused = campaign(settings, "fold-shards", "--budget", "0")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
