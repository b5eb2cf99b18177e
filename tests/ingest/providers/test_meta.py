"""Meta webhooks through the real ASGI app: captured payloads, signed as Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campaign.activity import social
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import SocialEvent
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, TESTDATA

pytestmark = pytest.mark.usefixtures("kenya")

APP_SECRET = "test-meta-app-secret"
VERIFY_TOKEN = "meatyhamhock"
PAGE = "110000000000001"  # the campaign's Facebook Page
GROUP = "480000000000001"  # the campaign's Workplace group


def captured(name: str) -> bytes:
    return (TESTDATA / "meta" / f"{name}.json").read_bytes()


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    """What Meta puts in X-Hub-Signature-256: the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(http: TestClient, body: bytes, header: str | None = "sign") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header == "sign":
        headers["X-Hub-Signature-256"] = signature(body)
    elif header is not None:
        headers["X-Hub-Signature-256"] = header
    return http.post("/webhooks/meta", content=body, headers=headers)


def client_with(settings: Settings, runtime: Runtime, **changes: str) -> Iterator[TestClient]:
    configured = settings.model_copy(update=changes)
    with TestClient(create_app(configured, runtime), base_url=PUBLIC_URL) as test_client:
        yield test_client


@pytest.fixture
def meta(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    social.link_account(runtime.engine, "kenya", "facebook", PAGE, "Reach Out for Kenya")
    social.link_account(runtime.engine, "kenya", "facebook", GROUP, "Reach Out for Kenya (group)")
    yield from client_with(settings, runtime, meta_app_secret=APP_SECRET, meta_verify_token=VERIFY_TOKEN)


# payload file, stored, duplicates, ignored, the campaign's live social figures afterwards
CAPTURED = [
    ("page_status_post", 1, 0, 0, {"facebook": {"post": 1}}),
    ("page_photo_post", 1, 0, 0, {"facebook": {"photo": 1}}),
    ("page_comment", 1, 0, 0, {"facebook": {"comment": 1}}),
    ("page_reaction", 1, 0, 0, {"facebook": {"reaction": 1}}),
    ("page_like_and_reaction_legacy", 1, 1, 0, {"facebook": {"reaction": 1}}),
    ("page_share", 1, 0, 0, {"facebook": {"share": 1}}),
    ("page_follow", 1, 0, 0, {"facebook": {"join": 1}}),
    ("page_mention", 1, 0, 0, {"facebook": {"mention": 1}}),
    ("page_edited_hidden_removed", 0, 0, 3, {}),
    ("page_ratings_field", 0, 0, 1, {}),
    ("page_messenger_message", 0, 0, 1, {}),
    ("page_unlinked", 0, 0, 1, {}),
    ("page_two_pages_batched", 1, 0, 1, {"facebook": {"comment": 1}}),
    ("group_membership", 1, 0, 0, {"facebook": {"join": 1}}),
    ("group_post", 1, 0, 0, {"facebook": {"post": 1}}),
    ("instagram_comment", 0, 0, 1, {}),
]


@pytest.mark.parametrize(("name", "stored", "duplicates", "ignored", "figures"), CAPTURED)
def test_captured_payloads(
    meta: TestClient,
    runtime: Runtime,
    name: str,
    stored: int,
    duplicates: int,
    ignored: int,
    figures: dict[str, dict[str, int]],
) -> None:
    body = captured(name)
    response = post(meta, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": stored, "duplicates": duplicates, "ignored": ignored}
    assert runtime.live.campaign_figures("kenya").social == figures
    retried = post(meta, body)  # Meta retries until it gets a 200: nothing counts twice
    assert retried.json()["stored"] == 0
    assert runtime.live.campaign_figures("kenya").social == figures


def test_times_come_from_meta_and_no_person_is_stored_in_clear(meta: TestClient, runtime: Runtime) -> None:
    names = ["page_status_post", "page_comment", "page_reaction", "page_share", "page_follow"]
    names += ["page_mention", "group_membership", "group_post", "page_like_and_reaction_legacy"]
    for name in names:
        assert post(meta, captured(name)).status_code == 200
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(SocialEvent)).mappings().all()
    assert len(rows) == len(names)
    by_kind = {row["kind"]: row for row in rows}
    assert by_kind["comment"]["occurred_at"] == datetime(2008, 2, 27, 19, 59, 55, tzinfo=UTC)
    assert by_kind["post"]["occurred_at"].tzinfo is not None
    reactions = {row["attributes"].get("reaction_type") for row in rows if row["kind"] == "reaction"}
    assert reactions == {"love", None}
    assert all(row["actor_hash"] and len(row["actor_hash"]) == 64 for row in rows)
    dump = json.dumps([dict(row) for row in rows], default=str)
    for clear in ("2900000000000", "Wanjiru", "Otieno", "David Kamau", "Carol Kim", "Amani kwa Kenya"):
        assert clear not in dump, clear


def test_a_reaction_counts_once_per_person_and_post(meta: TestClient, runtime: Runtime) -> None:
    def reaction(person: str, post_id: str, kind: str = "like") -> bytes:
        value = {"from": {"id": person, "name": "X"}, "item": "reaction", "verb": "add",
                 "reaction_type": kind, "post_id": post_id, "created_time": 1204142699}  # fmt: skip
        entry = {"id": PAGE, "time": 1, "changes": [{"field": "feed", "value": value}]}
        return json.dumps({"object": "page", "entry": [entry]}).encode()

    for body in (
        reaction("1", "1_1"),
        reaction("1", "1_1", "love"),  # the same person changing their reaction
        reaction("2", "1_1"),
        reaction("1", "1_2"),
    ):
        assert post(meta, body).status_code == 200
    assert runtime.live.campaign_figures("kenya").social == {"facebook": {"reaction": 3}}


COMMENT = captured("page_comment")

# what is wrong, body, signature header, status, error code
REFUSED = [
    ("no signature", COMMENT, None, 403, "forbidden"),
    ("another app's secret", COMMENT, signature(COMMENT, "x"), 403, "forbidden"),
    ("signature of another body", COMMENT, signature(captured("page_share")), 403, "forbidden"),
    ("the old SHA-1 header form", COMMENT, "sha1=" + "0" * 40, 403, "forbidden"),
    ("malformed JSON", b'{"object": "page", "entry": [', "sign", 400, "bad_request"),
    ("not UTF-8", b'{"object": "\xff"}', "sign", 400, "bad_request"),
    ("not an envelope", b"[1, 2, 3]", "sign", 400, "bad_request"),
    ("entry not a list", b'{"object": "page", "entry": {}}', "sign", 400, "bad_request"),
    ("NaN", b'{"object": "page", "entry": [], "x": NaN}', "sign", 400, "bad_request"),
    ("empty body", b"", "sign", 400, "bad_request"),
]


@pytest.mark.parametrize(("case", "body", "header", "status", "code"), REFUSED)
def test_refused_requests_store_nothing(
    meta: TestClient, runtime: Runtime, case: str, body: bytes, header: str | None, status: int, code: str
) -> None:
    response = post(meta, body, header)
    assert response.status_code == status, case
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(SocialEvent.id)).first() is None


def test_no_app_secret_refuses_everything(settings: Settings, runtime: Runtime) -> None:
    for http in client_with(settings, runtime, meta_app_secret=""):
        response = post(http, captured("page_comment"))
        assert response.status_code == 403
        assert "CAMPAIGN_META_APP_SECRET is not set" in response.json()["error"]["message"]


SUBSCRIBE = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}

# query, status, plain-text answer (or error code)
HANDSHAKES = [
    ({**SUBSCRIBE, "hub.challenge": "1158201444"}, 200, "1158201444"),
    ({"hub_mode": "subscribe", "hub_challenge": "42", "hub_verify_token": VERIFY_TOKEN}, 200, "42"),
    ({**SUBSCRIBE, "hub.challenge": "1158201444", "hub.verify_token": "wrong"}, 403, "forbidden"),
    ({"hub.mode": "subscribe", "hub.challenge": "1158201444"}, 403, "forbidden"),
    ({**SUBSCRIBE, "hub.challenge": "1", "hub.mode": "unsubscribe"}, 403, "forbidden"),
    (SUBSCRIBE, 400, "bad_request"),
    ({**SUBSCRIBE, "hub.challenge": "<script>"}, 400, "bad_request"),
]


@pytest.mark.parametrize(("query", "status", "answer"), HANDSHAKES)
def test_handshake(meta: TestClient, query: dict[str, str], status: int, answer: str) -> None:
    response = meta.get("/webhooks/meta", params=query)
    assert response.status_code == status
    if status == 200:
        assert response.text == answer
        assert response.headers["content-type"].startswith("text/plain")
    else:
        assert response.json()["error"]["code"] == answer


def test_handshake_without_a_verify_token_is_refused(settings: Settings, runtime: Runtime) -> None:
    for http in client_with(settings, runtime, meta_verify_token=""):
        response = http.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.challenge": "1"})
        assert response.status_code == 403
        assert "CAMPAIGN_META_VERIFY_TOKEN is not set" in response.json()["error"]["message"]
