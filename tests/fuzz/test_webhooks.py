"""Every webhook parser under generated input: a clear 4xx or an answer, never a 500.

Signed requests with fields nobody expects reach the parsers and the write path; forged,
truncated and wrongly encoded ones must stop at the door.  A replayed request counts once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.storage.models import InboundMessage, Signature
from ingest.providers.vonage import signature as vonage_signature
from tests.conftest import VONAGE_SECRET, twilio_form, twilio_signature
from tests.fuzz.conftest import (
    FUZZ,
    META_SECRET,
    any_text,
    assert_clean_store,
    assert_refusal,
    json_values,
    nasty_text,
    phone_text,
)


@pytest.fixture
def hassan(fuzz_runtime: Runtime) -> None:
    summary = appeals.add_appeal(
        fuzz_runtime.engine,
        slug="hassan",
        title="Stop the torture of Hassan",
        campaign="torture",
        person="Hassan",
        keywords=["HASSAN"],
        feature_on="4777",
    )
    fuzz_runtime.live.publish_appeal(summary.public())


def stored_ids(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as connection:
        ids = set(connection.scalars(select(InboundMessage.provider_message_id)))
        return ids | set(connection.scalars(select(Signature.provider_message_id)))


# -- Twilio -----------------------------------------------------------------------------------
sids = st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), nasty_text)
extra_fields = st.dictionaries(st.text(min_size=1, max_size=20), nasty_text, max_size=8)


@FUZZ
@given(
    sid=sids,
    sender=phone_text,
    body=nasty_text,
    to=st.one_of(st.just("4777"), nasty_text),
    extra=extra_fields,
)
def test_twilio_signed_form(
    fuzz_client: TestClient,
    fuzz_runtime: Runtime,
    hassan: None,
    sid: str,
    sender: str,
    body: str,
    to: str,
    extra: dict[str, str],
) -> None:
    form = {**extra, **twilio_form(sid, sender, body, to=to)}
    response = fuzz_client.post(
        "/webhooks/twilio", content=urlencode(form).encode(), headers=_form_headers(twilio_signature(form))
    )
    event(f"status {response.status_code}")
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("application/xml")
        assert sid in stored_ids(fuzz_runtime)  # stored under the id Twilio gave, not a cut or cleaned one
    else:
        assert_refusal(response, 400)
    assert_clean_store(fuzz_runtime.engine)


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=3000),
        st.builds(
            lambda body, cut: body[:cut],  # a request cut short on its way
            st.just(urlencode(twilio_form("SM" + "2" * 32, "+31612345678", "JA café 👍")).encode()),
            st.integers(0, 400),
        ),
        st.builds(  # the same form in another encoding
            lambda encoding: urlencode(
                twilio_form("SM" + "3" * 32, "+31612345678", "JA café"), encoding=encoding
            ).encode(),
            st.sampled_from(["latin-1", "utf-16", "cp1252"]),
        ),
    )
)
def test_twilio_raw_bodies_signed_as_the_server_reads_them(
    fuzz_client: TestClient, fuzz_runtime: Runtime, hassan: None, raw: bytes
) -> None:
    """Truncated, wrongly encoded and malformed forms, each carrying a valid signature."""
    try:
        fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        fields = {}
    response = fuzz_client.post(
        "/webhooks/twilio", content=raw, headers=_form_headers(twilio_signature(fields))
    )
    event(f"status {response.status_code}")
    if response.status_code != 200:
        assert_refusal(response, 400)
    assert_clean_store(fuzz_runtime.engine)


@FUZZ
@given(
    form=st.dictionaries(st.text(max_size=20), nasty_text, max_size=12),
    forged=st.one_of(st.text(max_size=40), st.just(""), st.binary(max_size=30).map(lambda b: b.hex())),
)
def test_twilio_forged_signatures_are_403(
    fuzz_client: TestClient, fuzz_runtime: Runtime, form: dict[str, str], forged: str
) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if forged.isascii() and forged.isprintable():
        headers["x-twilio-signature"] = forged
    response = fuzz_client.post("/webhooks/twilio", content=urlencode(form).encode(), headers=headers)
    assert_refusal(response, 400, 403) if not forged else assert_refusal(response, 403)
    assert stored_ids(fuzz_runtime) == set()


@FUZZ
@given(sender=st.from_regex(r"\+3161[0-9]{7}", fullmatch=True), retries=st.integers(1, 4))
def test_twilio_replays_count_once(
    fuzz_client: TestClient, fuzz_runtime: Runtime, hassan: None, sender: str, retries: int
) -> None:
    form = twilio_form(f"SM{hashlib.md5(sender.encode()).hexdigest()}", sender, "JA")  # noqa: S324
    with fuzz_runtime.engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(Signature))
    for _ in range(retries + 1):
        response = fuzz_client.post(
            "/webhooks/twilio",
            content=urlencode(form).encode(),
            headers=_form_headers(twilio_signature(form)),
        )
        assert response.status_code == 200
    with fuzz_runtime.engine.connect() as connection:
        after = connection.scalar(select(func.count()).select_from(Signature))
        rows = connection.scalar(
            select(func.count())
            .select_from(Signature)
            .where(Signature.provider_message_id == form["MessageSid"])
        )
    assert rows <= 1 and after - before <= 1


def _form_headers(signature: str) -> dict[str, str]:
    return {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}


# -- Vonage -----------------------------------------------------------------------------------
def _signed(fields: dict[str, str]) -> dict[str, str]:
    fields = {**fields, "timestamp": str(int(time.time()))}
    fields["sig"] = vonage_signature(fields, VONAGE_SECRET, "sha256")
    return fields


vonage_fields = st.fixed_dictionaries(
    {
        "msisdn": phone_text,
        "to": st.one_of(st.just("4777"), nasty_text),
        "messageId": st.one_of(st.from_regex(r"[0-9A-F]{16}", fullmatch=True), nasty_text),
        "text": nasty_text,
    },
    optional={
        "type": st.sampled_from(["text", "unicode", "binary", ""]),
        "concat": st.sampled_from(["true", "false", "TRUE", ""]),
        "concat-ref": nasty_text,
        "concat-total": st.one_of(st.integers(-3, 300).map(str), nasty_text),
        "concat-part": st.one_of(st.integers(-3, 300).map(str), nasty_text),
        "keyword": nasty_text,
    },
)


@FUZZ
@given(fields=vonage_fields, how=st.sampled_from(["GET", "form", "json"]))
def test_vonage_signed_requests(
    fuzz_client: TestClient, fuzz_runtime: Runtime, hassan: None, fields: dict[str, str], how: str
) -> None:
    signed = _signed(fields)
    if how == "GET":
        response = fuzz_client.get("/webhooks/vonage", params=signed)
    elif how == "form":
        response = fuzz_client.post("/webhooks/vonage", data=signed)
    else:
        response = fuzz_client.post("/webhooks/vonage", json=signed)
    event(f"status {response.status_code}")
    if response.status_code != 200:
        assert_refusal(response, 400)
    assert_clean_store(fuzz_runtime.engine)


@FUZZ
@given(payload=json_values)
def test_vonage_any_json(fuzz_client: TestClient, fuzz_runtime: Runtime, payload: object) -> None:
    """Any JSON at all (lone surrogates, deep lists, huge numbers), signed when it is an object."""
    if isinstance(payload, dict):
        # A lone surrogate: no signature can be computed, and the server must still answer.
        with contextlib.suppress(UnicodeEncodeError):
            payload = _signed({str(k): "" if v is None else str(v) for k, v in payload.items()})
    body = json.dumps(payload).encode()
    response = fuzz_client.post(
        "/webhooks/vonage", content=body, headers={"content-type": "application/json"}
    )
    event(f"status {response.status_code}")
    if response.status_code != 200:
        assert_refusal(response, 400, 403)
    assert_clean_store(fuzz_runtime.engine)


VONAGE_JSON_REGRESSIONS = [
    b"[" * 50_000,  # deep nesting: was a RecursionError, a 500
    b'{"msisdn": 1' + b"0" * 5000 + b"}",  # over Python's 4,300 digits: was a 500
    b'{"msisdn": NaN}',
    b'{"text": "\\ud800", "sig": "x"}',  # a lone surrogate: the signature check raised, a 500
    '{"text": "café"}'.encode("latin-1"),
    '{"text": "JA"}'.encode("utf-16"),
    b"\xef\xbb\xbf{}",
    b'{"messageId": "a\\u0000b"}',
]


def test_vonage_json_regressions(fuzz_client: TestClient, fuzz_runtime: Runtime) -> None:
    for body in VONAGE_JSON_REGRESSIONS:
        response = fuzz_client.post(
            "/webhooks/vonage", content=body, headers={"content-type": "application/json"}
        )
        assert_refusal(response, 400, 403)


TWILIO_ID_REGRESSIONS = [
    ("MessageSid", "SM\x00abc"),
    ("MessageSid", "SM" + "a" * 200),
    ("To", "47\x0077"),
    ("MessageSid", "SM 1"),
]


def test_twilio_id_regressions(fuzz_client: TestClient, fuzz_runtime: Runtime, hassan: None) -> None:
    """A NUL in a MessageSid was stored (and a 500 on PostgreSQL); a long one was cut to 128."""
    for field, value in TWILIO_ID_REGRESSIONS:
        form = twilio_form("SM" + "1" * 32, "+31612345678", "JA")
        form[field] = value
        response = fuzz_client.post(
            "/webhooks/twilio",
            content=urlencode(form).encode(),
            headers=_form_headers(twilio_signature(form)),
        )
        assert_refusal(response, 400)
    assert stored_ids(fuzz_runtime) == set()


# -- Meta -------------------------------------------------------------------------------------
def _meta_post(client: TestClient, body: bytes, secret: str = META_SECRET) -> object:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        "/webhooks/meta",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"},
    )


meta_changes = st.fixed_dictionaries(
    {
        "field": st.sampled_from(["feed", "mention", "posts", "comments", "membership", "x"]),
        "value": json_values,
    },
)
meta_payloads = st.fixed_dictionaries(
    {
        "object": st.one_of(st.sampled_from(["page", "group", "user"]), json_values),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.one_of(st.just("110000000000001"), json_values),
                    "changes": st.lists(meta_changes, max_size=4),
                },
                optional={"time": json_values, "messaging": json_values},
            ),
            max_size=4,
        ),
    }
)


@FUZZ
@given(payload=st.one_of(meta_payloads, json_values))
def test_meta_signed_notifications(fuzz_client: TestClient, fuzz_runtime: Runtime, payload: object) -> None:
    response = _meta_post(fuzz_client, json.dumps(payload).encode())
    event(f"status {response.status_code}")
    if response.status_code == 200:  # type: ignore[attr-defined]
        assert set(response.json()) == {"stored", "duplicates", "ignored"}  # type: ignore[attr-defined]
    else:
        assert_refusal(response, 400)
    assert_clean_store(fuzz_runtime.engine)


@FUZZ
@given(raw=st.binary(max_size=2000), key=any_text)
def test_meta_raw_bodies_and_forged_signatures(fuzz_client: TestClient, raw: bytes, key: str) -> None:
    assert_refusal(_meta_post(fuzz_client, raw, secret=key or "x"), 403)  # the wrong secret
    response = _meta_post(fuzz_client, raw)  # the right one, over bytes that are hardly JSON
    event(f"status {response.status_code}")
    if response.status_code != 200:  # type: ignore[attr-defined]
        assert_refusal(response, 400)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.challenge", "hub.verify_token", "x"]), nasty_text
    )
)
def test_meta_handshake(fuzz_client: TestClient, params: dict[str, str]) -> None:
    response = fuzz_client.get("/webhooks/meta", params=params)
    event(f"status {response.status_code}")
    if response.status_code == 200:
        assert response.text == params["hub.challenge"]
        assert response.text.isascii() and "<" not in response.text
    else:
        assert_refusal(response, 400, 403)
