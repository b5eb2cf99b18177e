"""The events and demonstrations API through the real ASGI app, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campaign.access import tokens
from campaign.activity import demonstrations
from campaign.runtime import Runtime
from campaign.storage.models import Demonstration, SocialEvent

pytestmark = pytest.mark.usefixtures("kenya")

WHEN = "2008-02-27T20:15:00Z"


@pytest.fixture
def token(runtime: Runtime) -> str:
    return tokens.create(runtime.engine, "website")


def event(external_id: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "platform": "facebook",
        "kind": "join",
        "campaign": "kenya",
        "occurred_at": WHEN,
        "external_id": external_id,
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not None}


def send(http: TestClient, token: str | None, body: Any, path: str = "/api/v1/events") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=content, headers=headers)


def stored(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(SocialEvent)) or 0)


# -- authorisation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic d2Vic2l0ZTpzZWNyZXQ=", "Bearer cmp_not-a-token", "Bearer x" * 100],
)
def test_without_a_valid_token_nothing_is_stored(
    client: TestClient, runtime: Runtime, token: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.post("/api/v1/events", json={"events": [event("e1")]}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert stored(runtime) == 0


def test_a_revoked_token_stops_working(client: TestClient, runtime: Runtime, token: str) -> None:
    assert send(client, token, {"events": [event("e1")]}).status_code == 200
    tokens.revoke(runtime.engine, "website")
    response = send(client, token, {"events": [event("e2")]})
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert stored(runtime) == 1


# -- storing ----------------------------------------------------------------------------------
def test_events_are_stored_once_and_shown_live(client: TestClient, runtime: Runtime, token: str) -> None:
    batch = {
        "events": [
            event("join-1", actor="2900000000000001", country="KE"),
            event("join-2"),
            event("visit-1", platform="web", kind="visit", attributes={"referrer": "facebook"}),
            event("photo-1", platform="flickr", kind="photo", campaign=None, appeal="kenya"),
            event("join-1"),  # the same id twice in one batch
        ]
    }
    response = send(client, token, batch)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 4, "duplicates": 1}
    again = send(client, token, batch)  # a client retrying after a timeout
    assert again.json() == {"stored": 0, "duplicates": 5}
    figures = runtime.live.campaign_figures("kenya")
    assert figures.social == {"facebook": {"join": 2}, "flickr": {"photo": 1}}
    assert figures.visits == {"facebook": 1}
    with runtime.engine.connect() as connection:
        row = connection.execute(select(SocialEvent).where(SocialEvent.external_id == "join-1")).one()
    assert row.country == "KE" and row.occurred_at == datetime(2008, 2, 27, 20, 15, tzinfo=UTC)
    assert row.actor_hash and "2900000000000001" not in row.actor_hash
    assert tokens.listing(runtime.engine)[0].last_used_at is not None


def test_an_empty_batch_is_fine(client: TestClient, token: str) -> None:
    assert send(client, token, {"events": []}).json() == {"stored": 0, "duplicates": 0}


FUTURE = (datetime.now(UTC) + timedelta(hours=2)).isoformat()

# the bad item, words of its error message
BAD_ITEMS = [
    (event("x", platform="myspace"), "platform 'myspace'"),
    (event("x", kind="poke"), "kind 'poke'"),
    ({k: v for k, v in event("x").items() if k != "occurred_at"}, "occurred_at: Field required"),
    (event("x", occurred_at="2008-02-27T20:15:00"), "occurred_at: Input should have timezone info"),
    (event("x", occurred_at="yesterday"), "occurred_at"),
    (event("x", occurred_at=FUTURE), "in the future"),
    (event("x", occurred_at="0001-01-01T00:00:00+14:00"), "occurred_at: out of range"),
    (event("x", occurred_at="1900-01-01T00:00:00Z"), "before 1970"),
    (event("x", campaign="nope"), "no campaign 'nope'"),
    (event("x", campaign=None, appeal="nobody"), "no appeal 'nobody'"),
    (event("x", campaign=None), "give the campaign or the appeal"),
    (event("x", appeal="kenya"), "give the campaign or the appeal"),
    (event("x", user_name="Wanjiru"), "user_name: Extra inputs are not permitted"),
    (event(""), "external_id"),
    (event("x" * 200), "external_id"),
    (event(42), "external_id: Input should be a valid string"),  # type: ignore[arg-type]
    (event("x", country="Kenya"), "country"),
    (event("x", country="K1"), "two-letter"),
    (event("x", attributes={"a": {"b": 1}}), "attributes.a"),
    (event("x", attributes={"blob": "x" * 5000}), "attributes: at most 4096 bytes"),
    (event("x", attributes={"": 1}), "attribute names"),
    (event("x", attributes=[1]), "attributes"),
    (event("x\x00y"), "NUL"),
    (event("\ud800"), "surrogate"),
    ("not an object", "must be a JSON object"),
    (None, "must be a JSON object"),
]


@pytest.mark.parametrize(("item", "message"), BAD_ITEMS)
def test_a_bad_item_refuses_the_batch_naming_it(
    client: TestClient, runtime: Runtime, token: str, item: Any, message: str
) -> None:
    body = json.dumps({"events": [event("good-1"), item, event("good-2")]}).encode()
    response = send(client, token, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_items"
    assert error["message"] == "1 bad event; nothing was stored"
    assert [entry["index"] for entry in error["items"]] == [1]
    assert message in error["items"][0]["message"]
    assert stored(runtime) == 0


def test_every_bad_item_is_named(client: TestClient, runtime: Runtime, token: str) -> None:
    items = [event("a"), event("b", kind="poke"), event("c"), event("d", campaign="nope"), 7]
    error = send(client, token, {"events": items}).json()["error"]
    assert [entry["index"] for entry in error["items"]] == [1, 3, 4]
    assert error["message"] == "3 bad events; nothing was stored"
    assert stored(runtime) == 0


# body, status, words of the error
BAD_BODIES = [
    (b"", 400, "empty"),
    (b"{not json", 400, "not JSON"),
    (b"\xff\xfe", 400, "not UTF-8"),
    (b'{"events": [NaN]}', 400, "NaN"),
    (b'{"events": [1e999]}', 400, "too large"),
    (b"[" * 50_000 + b"]" * 50_000, 413, "body over"),
    (b"[" * 20_000 + b"]" * 20_000, 400, "nested too deeply"),
    (b'{"events": {}}', 400, 'expected {"events": [...]}'),
    (b'{"events": [], "more": 1}', 400, 'expected {"events": [...]}'),
    (b'"events"', 400, 'expected {"events": [...]}'),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_bad_bodies_are_a_4xx_with_the_reason(
    client: TestClient, token: str, body: bytes, status: int, message: str
) -> None:
    response = send(client, token, body)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_at_most_500_items(client: TestClient, runtime: Runtime, token: str) -> None:
    def compact(n: int) -> list[dict[str, Any]]:
        return [{"platform": "web", "kind": "visit", "campaign": "kenya", "occurred_at": WHEN,
                 "external_id": str(i)} for i in range(n)]  # fmt: skip

    too_many = send(client, token, {"events": compact(501)})
    assert too_many.status_code == 400
    assert "at most 500" in too_many.json()["error"]["message"]
    assert stored(runtime) == 0
    assert send(client, token, {"events": compact(500)}).json() == {"stored": 500, "duplicates": 0}
    assert runtime.live.campaign_figures("kenya").visits == {"direct": 500}


def test_an_oversized_body_is_a_413(client: TestClient, token: str) -> None:
    body = json.dumps({"events": [event(f"x{i}", attributes={"pad": "x" * 1000}) for i in range(80)]})
    response = send(client, token, body.encode())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_sql_and_html_are_kept_as_plain_text(client: TestClient, runtime: Runtime, token: str) -> None:
    nasty = "'; DROP TABLE social_events; --"
    html = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    response = send(client, token, {"events": [event(nasty, attributes={"title": html, "q": '" OR 1=1 --'})]})
    assert response.json() == {"stored": 1, "duplicates": 0}
    refused = send(client, token, {"events": [event("y", campaign="kenya' OR '1'='1")]})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/json"
    with runtime.engine.connect() as connection:
        row = connection.execute(select(SocialEvent.external_id, SocialEvent.attributes)).one()
    assert row.external_id == nasty
    assert row.attributes == {"title": html, "q": '" OR 1=1 --'}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["platform", "kind", "campaign", "appeal", "occurred_at", "external_id", "country", "attributes"]
ITEMS = st.dictionaries(
    st.sampled_from([*FIELDS, "actor", "extra"]),
    JSON_VALUES | st.sampled_from(["kenya", "facebook", "web", "join", "visit", WHEN, "KE"]),
    max_size=9,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(ITEMS | JSON_VALUES, max_size=4))
def test_never_a_500(client: TestClient, token: str, items: list[Any]) -> None:
    response = send(client, token, {"events": items})
    assert response.status_code in (200, 400), response.text
    assert "error" in response.json() or "stored" in response.json()


# -- demonstrations ---------------------------------------------------------------------------
def demonstration(title: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "campaign": "kenya",
        "title": title,
        "city": "Nairobi",
        "country": "KE",
        "starts_at": "2008-03-01T14:00:00+03:00",
    }
    item.update(changes)
    return item


def test_demonstrations_from_the_api(client: TestClient, runtime: Runtime, token: str) -> None:
    body = [
        demonstration("Candles for Kenya", attendance=2000, links=["https://example.org/kenya"]),
        demonstration("Vigil in London", city="London", country="United Kingdom", organiser="AIUK"),
        demonstration("On the coast", city="Somewhere", latitude=-4.05, longitude=39.66),
    ]
    response = send(client, token, body, "/api/v1/demonstrations")
    assert response.status_code == 200, response.text
    assert response.json() == {"saved": 3}
    saved = {d["title"]: d for d in demonstrations.listing(runtime.engine, "kenya")}
    assert saved["Vigil in London"]["country"] == "GB"
    assert saved["Candles for Kenya"]["latitude"] == pytest.approx(-1.28, abs=0.1)
    assert saved["Candles for Kenya"]["source"] == "api"
    again = send(client, token, {"demonstrations": body[:1]}, "/api/v1/demonstrations")
    assert again.json() == {"saved": 1}  # the same demonstration is updated, not doubled
    assert len(demonstrations.listing(runtime.engine)) == 3


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (demonstration("x", city="Atlantis"), "city 'Atlantis' not found in KE"),
        (demonstration("x", country="Narnia"), "unknown country 'Narnia'"),
        (demonstration("x", campaign="nope"), "no campaign 'nope'"),
        (demonstration("x", attendance=-5), "attendance"),
        (demonstration("x", links=["javascript:alert(1)"]), "not an http(s) URL"),
        (demonstration("x", latitude=123.0, longitude=0.0), "not on Earth"),
        (demonstration("x", starts_at="2008-03-01 14:00"), "starts_at"),
        (demonstration(""), "title"),
        ({"title": "x"}, "campaign: Field required"),
    ],
)
def test_bad_demonstrations_are_named(
    client: TestClient, runtime: Runtime, token: str, item: dict[str, Any], message: str
) -> None:
    response = send(client, token, [demonstration("fine"), item], "/api/v1/demonstrations")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["items"][0]["index"] == 1
    assert message in error["items"][0]["message"]
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Demonstration)) == 0


def test_demonstrations_need_a_token(client: TestClient) -> None:
    response = client.post("/api/v1/demonstrations", json=[demonstration("x")])
    assert response.status_code == 401
