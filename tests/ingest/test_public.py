"""The public counter and its widget, through the real ASGI app, without any token.

Figures only (never a signer), readable by any site, cached for a second with an ETag,
rate-limited per client; a private appeal is a 404 and left out of public campaign totals.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from campaign.access import screens
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest import public
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, post_twilio, twilio_form

pytestmark = pytest.mark.usefixtures("hassan", "kenya")

FIELDS = {"title", "total", "goal", "last_minute", "updated_at"}


@pytest.fixture(autouse=True)
def always_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers are reused for a second; these tests read each change at once."""
    monkeypatch.setattr(public, "FRESH_SECONDS", 0.0)


def sign(client: TestClient, sid: str, sender: str, word: str = "JA") -> None:
    assert post_twilio(client, twilio_form(sid, sender, word)).status_code == 200


def test_an_appeals_figures_need_no_token_and_tell_nothing_about_signers(client: TestClient) -> None:
    sign(client, "SMp1", "+31612345678")
    sign(client, "SMp2", "+32470123456")
    # The total is read-your-writes after the 2xx; the last minute's rate follows a moment later.
    deadline = time.monotonic() + 10
    response = client.get("/public/appeals/hassan", headers={"Origin": "https://partner.example"})
    while response.json().get("last_minute") != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.get("/public/appeals/hassan", headers={"Origin": "https://partner.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=1"
    figures = response.json()
    assert set(figures) == {"appeal", *FIELDS}
    assert (figures["appeal"], figures["title"], figures["total"], figures["goal"]) == (
        "hassan",
        "Stop the torture of Hassan",
        2,
        10000,
    )
    assert figures["last_minute"] == 2 and figures["updated_at"]
    assert not re.search(r"\+3[12]|612|470|\bNL\b|\bBE\b|sms", response.text), "nothing about a signer"


def test_an_unchanged_answer_is_a_304(client: TestClient) -> None:
    sign(client, "SMe0", "+31612345677")  # from here on only a signature changes the answer
    first = client.get("/public/appeals/hassan")
    etag = first.headers["etag"]
    again = client.get("/public/appeals/hassan", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["access-control-allow-origin"] == "*"
    assert client.get("/public/appeals/hassan", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    sign(client, "SMe1", "+31612345678")
    moved = client.get("/public/appeals/hassan", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.json()["total"] == 2 and moved.headers["etag"] != etag


def test_an_answer_is_reused_for_a_second(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "FRESH_SECONDS", 3600.0)  # no test depends on the clock
    assert client.get("/public/campaigns/torture").json()["total"] == 0
    sign(client, "SMr1", "+31612345678")
    assert client.get("/public/campaigns/torture").json()["total"] == 0, "one Redis read per second"


def test_campaign_and_network_figures(client: TestClient) -> None:
    sign(client, "SMq1", "+31612345678")
    sign(client, "SMq2", "+31612345679", "KENYA")
    torture = client.get("/public/campaigns/torture")
    assert torture.headers["access-control-allow-origin"] == "*"
    assert torture.json() | {"updated_at": None, "last_minute": None} == {
        "campaign": "torture",
        "title": "Torture",
        "total": 1,
        "goal": 10000,
        "last_minute": None,
        "updated_at": None,
    }
    network = client.get("/public/campaigns/all").json()
    assert (network["campaign"], network["total"], network["goal"]) == ("all", 2, None)  # kenya has no goal


def test_unknown_is_a_404_in_the_error_shape(client: TestClient) -> None:
    for path in ["/public/appeals/x", "/public/campaigns/x", "/embed/appeals/x", "/embed/campaigns/x"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        assert response.headers["access-control-allow-origin"] == "*"


def test_a_private_appeal_is_kept_off_public_figures(client: TestClient, runtime: Runtime) -> None:
    sign(client, "SMv1", "+31612345678")
    sign(client, "SMv2", "+31612345679", "KENYA")
    assert appeals.edit_appeal(runtime.engine, "hassan", private=True) == {"private": (False, True)}
    runtime.live.publish_appeal(appeals.get_appeal(runtime.engine, "hassan").public())
    for path in ["/public/appeals/hassan", "/embed/appeals/hassan", "/public/campaigns/torture"]:
        hidden = client.get(path)
        assert hidden.status_code == 404, path
        assert "hassan" not in hidden.text or "no public appeal 'hassan'" in hidden.text
    assert client.get("/public/campaigns/all").json()["total"] == 1, "left out of the public total"
    # Nor in the open appeal answers: listed nowhere, 404 without a wall screen's token.
    assert "hassan" not in [a["slug"] for a in client.get("/api/v1/appeals").json()["appeals"]]
    assert client.get("/api/v1/appeals/hassan").status_code == 404
    wall = screens.create(runtime.engine, "wall", page="live", appeal="hassan", actor="test")
    assert client.get("/api/v1/appeals/hassan", params={"token": wall}).json()["signatures"] == 1
    # The organisation's own screens still count it.
    token = screens.create(runtime.engine, "gallery", campaign="all", actor="test")
    assert client.get("/api/v1/campaigns/all/total.txt", params={"token": token}).text == "2"
    assert client.get("/api/v1/campaigns/torture/total.txt", params={"token": token}).text == "1"

    appeals.edit_appeal(runtime.engine, "hassan", private=False)
    runtime.live.publish_appeal(appeals.get_appeal(runtime.engine, "hassan").public())
    assert client.get("/public/appeals/hassan").json()["total"] == 1


def test_a_private_appeal_stays_private_after_a_rebuild(client: TestClient, runtime: Runtime) -> None:
    appeals.edit_appeal(runtime.engine, "hassan", private=True)
    runtime.live.refresh(runtime.engine, runtime.vault, force=True)
    assert client.get("/public/appeals/hassan").status_code == 404


@pytest.fixture
def limited(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    tight = settings.model_copy(update={"rate_limit_public": 1.0, "rate_limit_burst": 2.0})
    with TestClient(create_app(tight, runtime), base_url=PUBLIC_URL, client=("203.0.113.9", 5000)) as client:
        yield client


def test_public_reads_are_rate_limited_per_client(limited: TestClient) -> None:
    answers = [limited.get("/public/appeals/hassan") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["message"] == "too many requests to the public endpoints; retry in 1 s"
    assert limited.get("/embed/appeals/hassan").status_code == 429  # the same group


def embed_config(page: str) -> dict[str, object]:
    found = re.search(r'<script id="config" type="application/json">(.*?)</script>', page)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_the_widget_is_self_contained_and_speaks_its_language(client: TestClient) -> None:
    response = client.get("/embed/campaigns/torture", params={"theme": "dark", "lang": "nl"})
    assert response.status_code == 200
    page = response.text
    assert not re.search(r"(src|href)=\"?(https?:)?//", page), "no asset may come from elsewhere"
    assert "@import" not in page and "url(" not in page
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors" not in policy
    assert "x-frame-options" not in response.headers, "any site may frame it"
    assert '<html lang="nl">' in page
    config = embed_config(page)
    assert config["figures"] == "/public/campaigns/torture" and config["theme"] == "dark"
    assert config["words"] == public.WORDS["nl"] and config["first"]["total"] == 0  # type: ignore[index]
    for lang in ("en", "nl", "fr", "de"):
        assert client.get("/embed/appeals/hassan", params={"lang": lang}).status_code == 200


def test_the_widget_refuses_a_theme_or_language_it_does_not_have(client: TestClient) -> None:
    bad = client.get("/embed/appeals/hassan", params={"theme": "pink"})
    assert bad.status_code == 400 and "not one of light, dark" in bad.json()["error"]["message"]
    bad = client.get("/embed/appeals/hassan", params={"lang": "xx"})
    assert bad.status_code == 400 and "lang 'xx'" in bad.json()["error"]["message"]


def test_a_title_cannot_break_out_of_the_widget(client: TestClient, runtime: Runtime) -> None:
    appeals.edit_appeal(runtime.engine, "hassan", title="</script><script>alert(1)</script>")
    runtime.live.publish_appeal(appeals.get_appeal(runtime.engine, "hassan").public())
    page = client.get("/embed/appeals/hassan").text
    assert "<script>alert(1)" not in page
    assert embed_config(page)["first"]["title"] == "</script><script>alert(1)</script>"  # type: ignore[index]
