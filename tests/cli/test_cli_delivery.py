"""`campaign appeal edit` and `campaign deliver` as a person uses them, in a real process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from campaign.appeals import deliveries
from campaign.appeals import registry as appeals
from campaign.errors import BadRequest
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.campaign.appeals.test_petition import import_history
from tests.conftest import backend_env, free_port
from tests.support import cli_process
from tests.support.smtp import running_smtp

EMAIL = "minister@justice.example.org"
FAX = "0031701234567@fax.example.org"
ZONE = "Europe/Amsterdam"  # the organisation's zone every command here runs in


def campaign(
    settings: Settings, *args: str, env: dict[str, str] | None = None, answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        **backend_env(settings),
        "CAMPAIGN_TIMEZONE": ZONE,
        "COLUMNS": "250",
        **(env or {}),
    }
    for name in list(environment):  # only what the test gives: not the machine's own mail settings
        if name.startswith(("CAMPAIGN_SMTP_", "CAMPAIGN_MAIL_")) and name not in (env or {}):
            del environment[name]
    return cli_process.run(
        args,
        env=environment,
        timeout=120,
        input=answer,
        cwd=settings.data_dir.parent,
    )


def test_appeal_edit_sets_the_target(settings: Settings, runtime: Runtime, hassan: object) -> None:
    edited = campaign(
        settings,
        "appeal", "edit", "hassan", "--target-name", "Minister of Justice", "--target-email", EMAIL,
        "--target-fax", FAX, "--goal", "20000", "--title", "Free Hassan",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    assert f"target email: {EMAIL}" in edited.stdout and "target name: Minister of Justice" in edited.stdout
    assert "updated appeal hassan" in edited.stdout
    target = appeals.get_target(runtime.engine, "hassan")
    assert (target.name, target.email, target.fax) == ("Minister of Justice", EMAIL, FAX)
    summary = appeals.get_appeal(runtime.engine, "hassan")
    assert (summary.title, summary.goal) == ("Free Hassan", 20000)
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.goal == 20000, "the screens follow"
    again = campaign(settings, "appeal", "edit", "hassan", "--target-email", EMAIL)
    assert "unchanged" in again.stdout
    cleared = campaign(settings, "appeal", "edit", "hassan", "--target-fax", "", "--goal", "0")
    assert cleared.returncode == 0 and "target fax: (none)" in cleared.stdout
    assert appeals.get_target(runtime.engine, "hassan").fax == ""
    assert appeals.get_appeal(runtime.engine, "hassan").goal is None


def test_appeal_edit_keeps_an_appeal_private(settings: Settings, runtime: Runtime, hassan: object) -> None:
    hidden = campaign(settings, "appeal", "edit", "hassan", "--private")
    assert hidden.returncode == 0, hidden.stderr
    assert "private: yes" in hidden.stdout
    assert appeals.get_appeal(runtime.engine, "hassan").private
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.private, "the public counter follows at once"
    shown = campaign(settings, "appeal", "edit", "hassan", "--public")
    assert shown.returncode == 0 and "private: no" in shown.stdout
    figures = runtime.live.figures("hassan")
    assert figures is not None and not figures.private


def test_appeal_edit_sets_milestones(settings: Settings, runtime: Runtime, hassan: object) -> None:
    done = campaign(settings, "appeal", "edit", "hassan", "--milestone", "25000", "--milestone", "10000")
    assert done.returncode == 0, done.stderr
    assert "milestones: 10,000, 25,000" in done.stdout
    assert appeals.get_appeal(runtime.engine, "hassan").milestones == (10000, 25000)
    bad = campaign(settings, "appeal", "edit", "hassan", "--milestone=-1")
    assert bad.returncode == 2 and "milestone -1: must be a positive number" in bad.stderr
    assert "Traceback" not in bad.stderr
    cleared = campaign(settings, "appeal", "edit", "hassan", "--no-milestones")
    assert cleared.returncode == 0 and "milestones: (none)" in cleared.stdout


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"target_email": "minister@justice"},
            "target email 'minister@justice' is not an email address (e.g. minister@justice.example.org)",
        ),
        (
            {"target_email": "minister justice@example.org"},
            "target email 'minister justice@example.org' is not an email address "
            "(e.g. minister@justice.example.org)",
        ),
        (
            {"target_fax": "+31 70 123 4567"},
            "target fax '+31 70 123 4567' is a fax number; give the email-to-fax gateway address, "
            "e.g. 31701234567@fax.example.org",
        ),
        (
            {"target_fax": "fax.example.org"},
            "target fax 'fax.example.org' is not an email-to-fax gateway address "
            "(e.g. 0031701234567@fax.example.org)",
        ),
        (
            {"target_fax": "0031701234567@" + "f" * 40 + ".org"},
            f"target fax '0031701234567@{'f' * 40}.org': at most 40 characters",
        ),
        ({"title": "  "}, "title: must not be empty"),
        ({"goal": -5}, "goal: must be a positive number (0 removes the goal)"),
        (
            {"sms_text": "x" * 161},
            "sms text needs 2 SMS segments (GSM-7, 161 characters); at most 1 allowed "
            "(160 characters in GSM-7; CAMPAIGN_ALERT_MAX_SEGMENTS)",
        ),
        ({"sms_text": "x" * 161, "max_segments": 2}, "sms text: 161 characters; an appeal keeps at most 160"),
        ({"keywords": ["JA JA"]}, "keyword 'JA JA': one word of at most 32 characters"),
        (
            {"translations": {"fr": "Merci {name}"}},
            "reply template: unknown placeholder {name}; use {count}, {others}, {person}, {title}",
        ),
        ({"country": "Tunisia"}, "country: use the two-letter ISO code, e.g. TN"),
    ],
)
def test_appeal_edit_mistakes(
    runtime: Runtime, hassan: object, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        appeals.edit_appeal(runtime.engine, "hassan", **{"target_email": EMAIL, **changes})
    assert refused.value.message == message
    assert appeals.get_target(runtime.engine, "hassan").email == "", "nothing saved when one value is wrong"


def test_appeal_edit_mistake_is_one_line(settings: Settings, runtime: Runtime, hassan: object) -> None:
    result = campaign(settings, "appeal", "edit", "hassan", "--target-email", "minister@justice")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "error: target email 'minister@justice' is not an email address (e.g. minister@justice.example.org)"
    )


def test_appeal_edit_of_an_unknown_appeal(settings: Settings, runtime: Runtime) -> None:
    result = campaign(settings, "appeal", "edit", "nobody", "--title", "x")
    assert result.returncode == 2 and result.stderr.strip() == "error: no appeal 'nobody'"


@pytest.fixture
def ready(runtime: Runtime, hassan: object, tmp_path: Path) -> None:
    import_history(runtime, tmp_path)
    appeals.edit_appeal(runtime.engine, "hassan", target_name="Minister", target_email=EMAIL, target_fax=FAX)


@pytest.mark.usefixtures("ready")
def test_deliver_sends_lists_and_shows_on_the_appeal(settings: Settings, runtime: Runtime) -> None:
    with running_smtp() as smtp:
        asked = campaign(settings, "deliver", "hassan", env=smtp.env(), answer="n\n")
        assert asked.returncode == 1 and "Send 6 signatures to" in asked.stdout and smtp.received == []
        sent = campaign(settings, "deliver", "hassan", "--yes", env=smtp.env())
        assert sent.returncode == 0, sent.stderr
        assert [r.rcpt_tos for r in smtp.received] == [[EMAIL], [FAX]]
    assert "signatures:  6, 29 November 2026 to 30 November 2026 (Europe/Amsterdam)" in sent.stdout
    assert "countries:   Netherlands 3, Belgium 1, Germany 1, Kenya 1" in sent.stdout
    assert f"delivered 6 signatures for hassan to {EMAIL}, {FAX}" in sent.stdout
    (record,) = deliveries.history(runtime.engine)
    assert f"PDF SHA-256: {record.document_sha256}" in sent.stdout
    assert f"{EMAIL}: {record.message_ids[0]}" in sent.stdout
    assert record.actor.startswith("cli")
    listed = campaign(settings, "deliver", "--list")
    assert "hassan" in listed.stdout and "sent" in listed.stdout
    assert "2026-11-29" in listed.stdout and "to 2026-11-30" in listed.stdout
    appeal_list = campaign(settings, "appeal", "list")
    # The day in the command's zone, not the test's: they differ for an hour or two each night.
    assert f"6 on {record.created_at.astimezone(ZoneInfo(ZONE)):%Y-%m-%d}" in appeal_list.stdout


@pytest.mark.usefixtures("ready")
def test_deliver_dry_run_writes_files_and_sends_nothing(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    out = tmp_path / "petitions"
    result = campaign(settings, "deliver", "hassan", "--dry-run", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "dry run: nothing was sent" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert sorted(n.rsplit(".", 1)[1] for n in names) == ["csv", "eml", "eml", "pdf"]
    assert deliveries.history(runtime.engine) == []


@pytest.mark.usefixtures("ready")
def test_deliver_failure_is_one_line_and_recorded(settings: Settings, runtime: Runtime) -> None:
    closed = free_port()
    env = {
        "CAMPAIGN_SMTP_HOST": "127.0.0.1",
        "CAMPAIGN_SMTP_PORT": str(closed),
        "CAMPAIGN_SMTP_STARTTLS": "0",
    }
    unset = campaign(settings, "deliver", "hassan", "--yes", env=env)
    assert unset.returncode == 2
    assert (
        unset.stderr.strip() == "error: CAMPAIGN_MAIL_FROM is not set: the authority needs to see who writes"
    )
    env["CAMPAIGN_MAIL_FROM"] = "urgent@amnesty.example.org"
    failed = campaign(settings, "deliver", "hassan", "--yes", env=env)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip() == (
        "error: delivery of 'hassan' failed: "
        f"cannot reach the SMTP server 127.0.0.1:{closed} (Connection refused)"
    )
    (record,) = deliveries.history(runtime.engine)
    assert record.status == "failed"
    listed = campaign(settings, "deliver", "hassan", "--list").stdout
    assert "failed" in listed and f"delivery {record.id} (failed): {EMAIL}: cannot reach" in listed


def test_deliver_needs_a_target(settings: Settings, runtime: Runtime, hassan: object) -> None:
    result = campaign(settings, "deliver", "hassan", "--yes")
    assert result.returncode == 2 and "has no target address" in result.stderr
