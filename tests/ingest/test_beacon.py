"""The referral link through the real ASGI app: visits counted by referrer, safe redirects."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campaign.runtime import Runtime
from campaign.storage.models import SocialEvent
from ingest.social.beacon import destination, referrer

pytestmark = pytest.mark.usefixtures("kenya")

SITE = "https://www.amnesty.org/"
BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"


def visit(http: TestClient, path: str, **headers: str) -> str:
    response = http.get(path, headers={"User-Agent": BROWSER, **headers}, follow_redirects=False)
    assert response.status_code == 302, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.headers["location"]


def test_visits_are_counted_by_referrer_and_redirected(client: TestClient, runtime: Runtime) -> None:
    path = "/en/latest/campaigns/2008/02/reach-out-for-kenya/"
    assert visit(client, f"/r/kenya?from=facebook&to={path}") == SITE.rstrip("/") + path
    assert visit(client, "/r/kenya?from=Facebook") == SITE
    assert visit(client, "/r/kenya", Referer="https://l.facebook.com/l.php?u=x") == SITE
    assert visit(client, "/r/kenya", Referer="https://www.flickr.com/photos/amnesty/") == SITE
    assert visit(client, "/r/kenya", Referer="https://t.co/abc") == SITE
    assert visit(client, "/r/kenya", Referer="https://news.example.com/kenya") == SITE
    assert visit(client, "/r/kenya?from=myspace") == SITE
    assert visit(client, "/r/kenya") == SITE
    figures = runtime.live.campaign_figures("kenya")
    assert figures.visits == {"facebook": 3, "flickr": 1, "twitter": 1, "other": 2, "direct": 1}
    assert figures.visits_from_social == pytest.approx(5 / 8)
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(SocialEvent.platform, SocialEvent.kind, SocialEvent.attributes)
        ).all()
    assert {(r.platform, r.kind) for r in rows} == {("web", "visit")}
    assert all(set(r.attributes) == {"referrer"} for r in rows)  # no address, no agent, no cookie


def test_link_previews_and_head_requests_are_not_visits(client: TestClient, runtime: Runtime) -> None:
    for agent in (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ):
        response = client.get("/r/kenya?from=facebook", headers={"User-Agent": agent}, follow_redirects=False)
        assert response.status_code == 302
    assert client.head("/r/kenya", follow_redirects=False).status_code == 302
    assert runtime.live.campaign_figures("kenya").visits == {}


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("https://evil.example/", "starting with a single /"),
        ("//evil.example/", "starting with a single /"),
        ("/\\evil.example", "starting with a single /"),
        ("evil.example", "starting with a single /"),
        ("/a\r\nSet-Cookie: x=1", "starting with a single /"),
        ("/" + "a" * 600, "at most 500"),
    ],
)
def test_never_a_redirect_to_another_host(client: TestClient, runtime: Runtime, to: str, reason: str) -> None:
    response = client.get("/r/kenya", params={"to": to}, follow_redirects=False)
    assert response.status_code == 400
    assert reason in response.json()["error"]["message"]
    assert runtime.live.campaign_figures("kenya").visits == {}


def test_unknown_campaign_is_a_404(client: TestClient, runtime: Runtime) -> None:
    response = client.get("/r/atlantis", headers={"User-Agent": BROWSER}, follow_redirects=False)
    assert response.status_code == 404
    assert response.json()["error"] == {
        "status": 404,
        "code": "not_found",
        "message": "no campaign 'atlantis'",
    }
    bad = client.get("/r/Not%20A%20Slug", follow_redirects=False)
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("web_url", "to", "location"),
    [
        ("https://www.amnesty.org/", None, "https://www.amnesty.org/"),
        ("https://www.amnesty.org/", "/en/", "https://www.amnesty.org/en/"),
        ("https://www.amnesty.org", "/@evil.example", "https://www.amnesty.org/@evil.example"),
        (
            "https://amnesty.nl/kenya",
            "/doe-mee?utm_source=fb#top",
            "https://amnesty.nl/kenya/doe-mee?utm_source=fb#top",
        ),
        ("https://www.amnesty.org/", "/ndio kwa haki", "https://www.amnesty.org/ndio%20kwa%20haki"),
        ("https://www.amnesty.org/", "/<script>", "https://www.amnesty.org/%3Cscript%3E"),
    ],
)
def test_destination_is_always_on_the_website(web_url: str, to: str | None, location: str) -> None:
    assert destination(web_url, to) == location


@pytest.mark.parametrize(
    ("from_param", "referer", "expected"),
    [
        ("instagram", None, "instagram"),
        ("web", None, "other"),
        (None, "https://m.facebook.com/groups/reachoutforkenya", "facebook"),
        (None, "https://notfacebook.com/", "other"),
        (None, "https://youtu.be/x", "youtube"),
        (None, "https://campaign.example.org/overlay/kenya", "direct"),
        (None, "http://[::1", "other"),
        (None, "", "direct"),
    ],
)
def test_referrer(from_param: str | None, referer: str | None, expected: str) -> None:
    assert referrer(from_param, referer, "campaign.example.org") == expected
