"""The token, social, demonstration and outcome commands, in a real process as a person uses them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from campaign.access import tokens
from campaign.activity import demonstrations, social
from campaign.appeals import outcomes
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.cli.test_cli import campaign

pytestmark = pytest.mark.usefixtures("kenya")


def test_token_add_list_revoke(settings: Settings, runtime: Runtime, client: TestClient) -> None:
    added = campaign(settings, "token", "add", "website")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("cmp_") and len(token.splitlines()) == 1
    assert "shown this once" in added.stderr
    assert tokens.verify(runtime.engine, token) == "website"
    event = {"platform": "web", "kind": "visit", "campaign": "kenya", "occurred_at": "2008-02-27T20:00:00Z",
             "external_id": "v1"}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/events", json={"events": [event]}, headers=headers).status_code == 200

    listing = campaign(settings, "token", "list")
    assert "website" in listing.stdout and token not in listing.stdout
    twice = campaign(settings, "token", "add", "website")
    assert twice.returncode == 2 and "exists already" in twice.stderr

    revoked = campaign(settings, "token", "revoke", "website")
    assert revoked.returncode == 0 and "revoked token website" in revoked.stdout
    assert tokens.verify(runtime.engine, token) is None
    assert client.post("/api/v1/events", json={"events": [event]}, headers=headers).status_code == 401
    again = campaign(settings, "token", "revoke", "website")
    assert again.returncode == 2 and "no active token named 'website'" in again.stderr


def test_social_link(settings: Settings, runtime: Runtime) -> None:
    args = ["social", "link", "--campaign", "kenya", "--platform", "facebook", "--id", "123"]
    linked = campaign(settings, *args, "--name", "Reach Out for Kenya")
    assert linked.returncode == 0, linked.stderr
    assert "facebook 123 now counts for campaign kenya" in linked.stdout
    assert social.campaign_of_account(runtime.engine, "facebook", "123") == "kenya"


def test_demonstration_add_and_list(settings: Settings, runtime: Runtime) -> None:
    added = campaign(
        settings,
        "demonstration", "add", "--campaign", "kenya", "--title", "Candles for Kenya", "--city", "Nairobi",
        "--country", "KE", "--starts-at", "2008-03-01T14:00+03:00", "--attendance", "2000",
        "--organiser", "AI Kenya", "--link", "https://example.org/a", "--link", "https://example.org/b",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "saved demonstration Candles for Kenya in Nairobi, KE (-1.28, 36.82)" in added.stdout
    coast = campaign(
        settings,
        "demonstration", "add", "--campaign", "kenya", "--title", "On the coast", "--city", "Nowhere",
        "--country", "Kenya", "--starts-at", "2008-03-02", "--lat", "-4.05", "--lon", "39.66",
    )  # fmt: skip
    assert coast.returncode == 0, coast.stderr
    saved = {d["title"]: d for d in demonstrations.listing(runtime.engine)}
    assert saved["Candles for Kenya"]["links"] == ["https://example.org/a", "https://example.org/b"]
    assert saved["Candles for Kenya"]["attendance"] == 2000
    listing = campaign(settings, "demonstration", "list", "--campaign", "kenya")
    assert "Candles for Kenya" in listing.stdout and "2,000" in listing.stdout


def test_demonstration_import_reports_each_bad_row(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    csv = tmp_path / "demonstrations.csv"
    csv.write_text(
        "campaign,title,city,country,starts_at,attendance,links\n"
        "kenya,Candles for Kenya,Nairobi,KE,2008-03-01T14:00:00+03:00,2000,https://example.org/a\n"
        "kenya,Vigil,London,GB,2008-03-01T12:00:00Z,,\n"
        "kenya,Lost,Atlantis,KE,2008-03-01T12:00:00Z,,\n"
        "nope,Elsewhere,Paris,FR,2008-03-01T12:00:00Z,,\n"
        "kenya,When,Paris,FR,soon,,\n"
        "kenya,Many,Paris,FR,2008-03-01T12:00:00Z,lots,\n"
    )
    result = campaign(settings, "demonstration", "import", str(csv))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{csv}:4: city 'Atlantis' not found in KE; give latitude and longitude",
        f"{csv}:5: no campaign 'nope'",
        f"{csv}:6: starts_at 'soon' is not an ISO 8601 time",
        f"{csv}:7: attendance 'lots' is not a number",
    ]
    assert "2 saved, 4 bad row(s)" in result.stdout
    assert len(demonstrations.listing(runtime.engine)) == 2
    again = campaign(settings, "demonstration", "import", str(csv))
    assert len(demonstrations.listing(runtime.engine)) == 2, again.stdout  # updated, not doubled


def test_outcome_record(settings: Settings, runtime: Runtime, hassan: object) -> None:
    recorded = campaign(
        settings, "outcome", "record", "hassan", "--kind", "released", "--date", "2099-01-01"
    )  # the future is refused
    assert recorded.returncode == 2 and "in the future" in recorded.stderr
    before = outcomes.utcnow().date().isoformat()
    recorded = campaign(
        settings, "outcome", "record", "hassan", "--kind", "released",
        "--source", "https://example.org/news", "--note", "Released on bail",
    )  # fmt: skip
    after = outcomes.utcnow().date().isoformat()  # midnight may pass while the command runs
    assert recorded.returncode == 0, recorded.stderr
    assert any(f"recorded for hassan: Released (good), {day}" in recorded.stdout for day in (before, after))
    worse = campaign(settings, "outcome", "record", "hassan", "--kind", "released", "--bad")
    assert "Released (not good)" in worse.stdout
    figures = runtime.live.figures("hassan")
    assert figures is not None and figures.status == "outcome"
    table = outcomes.frame(runtime.engine)
    assert table.set_index("slug").loc["hassan", "kind"] == "released"


def test_an_outcome_on_the_day_an_appeal_opened(settings: Settings) -> None:
    """Good news within hours of the opening is recorded, whatever the hour (it was refused after noon)."""
    added = campaign(
        settings, "appeal", "add", "--slug", "lina", "--title", "Free Lina", "--campaign", "torture"
    )
    assert added.returncode == 0, added.stderr
    today = datetime.now(settings.tz).date()
    recorded = campaign(
        settings, "outcome", "record", "lina", "--kind", "released", "--date", today.isoformat()
    )
    assert recorded.returncode == 0, recorded.stderr
    yesterday = campaign(
        settings, "outcome", "record", "lina", "--kind", "released", "--date",
        (today - timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert yesterday.returncode == 2 and "before the appeal was opened" in yesterday.stderr


NOWHERE = ["--campaign", "kenya", "--title", "t", "--city", "Atlantis", "--country", "KE", "--starts-at"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["outcome", "record", "nobody", "--kind", "released"], "no appeal 'nobody'"),
        (["outcome", "record", "kenya", "--kind", "freed"], "outcome 'freed' is not one of"),
        (["outcome", "record", "kenya", "--kind", "released", "--date", "tuesday"], "not an ISO date"),
        (["demonstration", "add", *NOWHERE, "2008"], "--starts-at '2008' is not an ISO date"),
        (
            ["social", "link", "--campaign", "nope", "--platform", "facebook", "--id", "1"],
            "no campaign 'nope'",
        ),
        (
            ["social", "link", "--campaign", "kenya", "--platform", "myspace", "--id", "1"],
            "platform 'myspace'",
        ),
        (["token", "add", " "], "token name"),
        (["demonstration", "add", *NOWHERE, "2008-03-01"], "city 'Atlantis' not found in KE"),
        (["demonstration", "import", "/nonexistent.csv"], "No such file"),
    ],
)
def test_mistakes_are_one_line(settings: Settings, runtime: Runtime, args: list[str], message: str) -> None:
    result = campaign(settings, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
