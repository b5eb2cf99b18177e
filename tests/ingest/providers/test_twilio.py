"""Twilio webhooks through the real ASGI app: captured payloads and a table of cases."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campaign.access import screens
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import InboundMessage, Signature, Supporter
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, TESTDATA, post_twilio, twilio_form, twilio_signature

pytestmark = pytest.mark.usefixtures("hassan")


def captured(name: str) -> dict[str, str]:
    body = (TESTDATA / "twilio" / f"{name}.form").read_text()
    return dict(parse_qsl(body, keep_blank_values=True))


# payload file, status, words in the TwiML reply, signatures counted afterwards
CAPTURED = [
    ("sign_ja", 200, "Dank je! Jij bent de eerste", 1),
    ("sign_keyword_emoji_new_fields", 200, "Dank je! Jij bent de eerste", 1),
    ("local_number_unknown_text", 200, "Sorry, dat begrepen we niet", 0),  # a Dutch number
    ("stop", 200, "Je ontvangt geen berichten meer", 0),
    ("stop_in_a_sentence", 200, "Je ontvangt geen berichten meer", 0),  # "not HASSAN, stop texting me"
    ("stop_russian", 200, "Вы больше не будете получать", 0),  # "Да, СТОП"
    ("join_lid", 200, "Welkom bij het Urgent Action SMS-netwerk", 0),  # LID is Dutch
]


@pytest.mark.parametrize(("name", "status", "reply", "counted"), CAPTURED)
def test_captured_payloads(
    client: TestClient, runtime: Runtime, name: str, status: int, reply: str, counted: int
) -> None:
    response = post_twilio(client, captured(name))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/xml")
    assert reply in response.text
    assert runtime.live.total("hassan") == counted
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Signature)) == counted


# form changes, status, error code in the JSON body
REFUSED = [
    ("no signature", {}, None, 403, "forbidden"),
    ("signature of another token", {}, "other-token", 403, "forbidden"),
    ("signature over other fields", {"Body": "JA"}, "tamper", 403, "forbidden"),
    ("signature not ASCII (was a 500)", {}, "non-ascii", 403, "forbidden"),
    ("missing From", {"From": ""}, "signed", 400, "bad_request"),
    ("missing MessageSid", {"MessageSid": ""}, "signed", 400, "bad_request"),
    ("unreadable number", {"From": "+999"}, "signed", 400, "invalid_number"),
    ("letters as number", {"From": "Amnesty"}, "signed", 400, "invalid_number"),
    ("text over ten parts", {"Body": "JA " * 600}, "signed", 400, "bad_request"),
]


@pytest.mark.parametrize(("case", "changes", "signing", "status", "code"), REFUSED)
def test_refused_requests_store_nothing(
    client: TestClient,
    runtime: Runtime,
    case: str,
    changes: dict[str, str],
    signing: str | None,
    status: int,
    code: str,
) -> None:
    form = {**twilio_form("SMrefused", "+31612345678", "JA"), **changes}
    headers = {}
    if signing == "signed":
        headers["X-Twilio-Signature"] = twilio_signature(form)
    elif signing == "other-token":
        headers["X-Twilio-Signature"] = twilio_signature(form, token="someone-else")
    elif signing == "non-ascii":
        headers["X-Twilio-Signature"] = "sïgnatüre+/=".encode("latin-1")  # type: ignore[assignment]
    elif signing == "tamper":
        headers["X-Twilio-Signature"] = twilio_signature({**form, "Body": "STOP"})
    response = client.post("/webhooks/twilio", data=form, headers=headers)
    assert response.status_code == status, case
    body = response.json()
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_without_an_auth_token_every_route_is_refused(settings: Settings, runtime: Runtime) -> None:
    """No token: nothing can be checked, so nothing is taken, signed with any token or none."""
    unset = settings.model_copy(update={"twilio_auth_token": ""})
    form = twilio_form("SMnotoken", "+31612345678", "JA")
    status = {"MessageSid": "SMnotoken", "MessageStatus": "failed"}
    with TestClient(create_app(unset, runtime), base_url=PUBLIC_URL) as http:
        for path, fields in (("/webhooks/twilio", form), ("/webhooks/twilio/status", status)):
            for headers in ({}, {"X-Twilio-Signature": twilio_signature(fields, token="")}):
                refused = http.post(path, data=fields, headers=headers)
                assert refused.status_code == 403, path
                assert "CAMPAIGN_TWILIO_AUTH_TOKEN is not set" in refused.json()["error"]["message"]
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_a_conversation_counts_each_supporter_once(client: TestClient, runtime: Runtime) -> None:
    steps = [
        ("SM1", "+31612345678", "JA", "Jij bent de eerste"),
        ("SM1", "+31612345678", "JA", "Jij bent de eerste"),  # Twilio retrying
        ("SM2", "+31612345678", "ja!", "Je staat al achter Hassan"),
        ("SM3", "+4915112345678", "YES", "You and 1 other stand"),
        ("SM4", "+33612345678", "oui hassan", "Vous et 2 autres soutenez Hassan"),
        ("SM5", "+4915112345678", "STOP", "no more messages"),  # they wrote YES: English
        ("SM6", "+254712345678", "Kenya?", "hatukuelewa"),  # a Kenyan number: Swahili
        ("SM7", "+254712345678", "help", "jibu NDIO kusaini"),
    ]
    for sid, sender, text, reply in steps:
        response = post_twilio(client, twilio_form(sid, sender, text))
        assert response.status_code == 200
        assert reply in response.text, (sid, response.text)
    figures = client.get("/api/v1/appeals/hassan").json()
    assert figures["signatures"] == 3
    assert figures["channels"] == {"sms": 3}
    assert {c["country"]: c["signatures"] for c in figures["top_countries"]} == {
        "NL": 1,
        "DE": 1,
        "FR": 1,
    }
    assert {c["name"] for c in figures["top_countries"]} == {"Netherlands", "Germany", "France"}
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Signature)) == 3
        assert connection.scalar(select(func.count()).select_from(InboundMessage)) == 7
        stopped = connection.scalar(select(func.count()).where(Supporter.opted_out.is_(True)))
        assert stopped == 1
        unmatched = (
            connection.execute(select(InboundMessage.body).where(InboundMessage.intent == "unknown"))
            .scalars()
            .all()
        )
        assert unmatched == ["Kenya?"]


def test_no_clear_number_reaches_the_database_or_redis(client: TestClient, runtime: Runtime) -> None:
    post_twilio(client, twilio_form("SMpii", "+31612345678", "JA"))
    with runtime.engine.connect() as connection:
        stored = connection.execute(select(Supporter.phone_hash, Supporter.phone_encrypted)).one()
    assert "612345678" not in stored.phone_hash + stored.phone_encrypted
    dump = " ".join(
        str(runtime.redis.dump(key))
        for key in runtime.redis.scan_iter("*")  # type: ignore[union-attr]
    )
    assert "612345678" not in dump
    # The public answer names no signer; a wall screen's token sees the masked number only.
    assert "78" not in client.get("/api/v1/appeals/hassan").json().get("recent", "")
    wall = screens.create(runtime.engine, "wall", page="live", appeal="hassan", actor="test")
    assert "+31 6 ••• ••• 78" in client.get("/api/v1/appeals/hassan", params={"token": wall}).text


def test_the_signature_check_is_the_twilio_librarys() -> None:
    from twilio.request_validator import RequestValidator

    from ingest.providers.twilio import signed

    url = PUBLIC_URL + "/webhooks/twilio"
    fields = twilio_form("SM1", "+31612345678", "JA 👍") | {"Extra": "ünïcode & more"}
    good = RequestValidator("token").compute_signature(url, fields)
    assert signed("token", url, fields, good)
    assert not signed("other", url, fields, good)
    assert not signed("token", url, fields | {"Body": "NEE"}, good)
    with_port = RequestValidator("token").compute_signature(url.replace(".org/", ".org:443/"), fields)
    assert signed("token", url, fields, with_port)  # Twilio may sign the URL with its port
