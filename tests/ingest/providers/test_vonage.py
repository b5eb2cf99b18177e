"""Vonage webhooks through the real ASGI app: captured payloads, signatures and refusals.

The captured payloads in ``tests/testdata/vonage`` are stored unsigned; each test signs
them afresh (``timestamp``, ``nonce`` and ``sig``) with Vonage's own client library,
because a signature older than five minutes is refused as a replay.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Literal
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from vonage_http_client import Auth

from campaign.inbound import replies
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import InboundMessage, MessagePart, OutboxMessage, Signature, Supporter
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, TESTDATA, VONAGE_SECRET

pytestmark = pytest.mark.usefixtures("hassan")

Method = Literal["GET", "POST", "JSON"]
API_KEY = "abcd1234"
LONG_PARTS = ("long_part1_of_3.form", "long_part2_of_3.form", "long_part3_of_3.form")


# -- helpers ------------------------------------------------------------------------------------
def captured(name: str) -> tuple[Method, dict[str, str]]:
    """A stored payload and how Vonage delivered it (.query: GET, .form: POST, .json: JSON)."""
    path = TESTDATA / "vonage" / name
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        return "JSON", {str(key): str(value) for key, value in data.items()}
    fields = dict(parse_qsl(path.read_text().strip(), keep_blank_values=True))
    return ("GET" if path.suffix == ".query" else "POST"), fields


def sign(
    fields: dict[str, str],
    *,
    secret: str = VONAGE_SECRET,
    method: Literal["md5", "sha1", "sha256", "sha512"] = "sha256",
    timestamp: str | None = None,
) -> dict[str, str]:
    """The fields as Vonage sends a signed message: fresh timestamp and nonce, then ``sig``."""
    stamped = {
        **fields,
        "timestamp": timestamp or str(int(time.time())),
        "nonce": str(uuid.uuid4()),
    }
    auth = Auth(api_key=API_KEY, signature_secret=secret, signature_method=method)
    return {**stamped, "sig": auth.sign_params(dict(stamped))}


def md5hash_sig(fields: dict[str, str], secret: str) -> str:
    """The legacy "md5hash" signature of Vonage's docs: md5 of the sorted pairs plus the secret."""
    pairs = "".join(
        f"&{key}={value.replace('&', '_').replace('=', '_')}" for key, value in sorted(fields.items())
    )
    return hashlib.md5((pairs + secret).encode(), usedforsecurity=False).hexdigest()


def deliver(http: TestClient, method: Method, fields: dict[str, str]) -> httpx.Response:
    """Send the fields the way Vonage does for the chosen webhook method."""
    if method == "GET":
        return http.get("/webhooks/vonage", params=fields)
    if method == "JSON":
        return http.post("/webhooks/vonage", json=fields)
    return http.post("/webhooks/vonage", data=fields)


def deliver_captured(http: TestClient, name: str, **changes: str) -> httpx.Response:
    method, fields = captured(name)
    return deliver(http, method, sign({**fields, **changes}))


def count(runtime: Runtime, model: type[object]) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def waiting_parts(runtime: Runtime) -> int:
    """Parts still waiting for the rest of their message (completed ones are kept, marked done)."""
    with runtime.engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(MessagePart).where(MessagePart.done.is_(False))
            )
            or 0
        )


def api_signatures(http: TestClient, expected: int, timeout: float = 5.0) -> int:
    """The appeal's signatures in the API, waiting briefly for Redis to catch up to ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        figures = http.get("/api/v1/appeals/hassan").json()
        if figures["signatures"] == expected or time.monotonic() > deadline:
            return int(figures["signatures"])
        time.sleep(0.05)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


StartApp = Callable[..., TestClient]


@pytest.fixture
def app_with(settings: Settings, runtime: Runtime) -> Iterator[StartApp]:
    """Start the app with changed settings: ``app_with(vonage_signature_secret="")``."""
    clients: list[TestClient] = []

    def start(**update: object) -> TestClient:
        changed = settings.model_copy(update=update)
        # From this machine: /healthz shows it the details (unsigned_providers) it shows operators.
        http = TestClient(create_app(changed, runtime), base_url=PUBLIC_URL, client=("127.0.0.1", 50123))
        clients.append(http.__enter__())
        return http

    yield start
    for http in clients:
        http.__exit__(None, None, None)


# -- captured payloads --------------------------------------------------------------------------
# payload file, signatures counted, the intent stored for the message (None: nothing stored)
CAPTURED = [
    ("sign_ja.query", 1, "sign"),
    ("sign_keyword.form", 1, "sign"),
    ("sign_oui.json", 1, "sign"),
    ("sign_unicode_swahili.json", 1, "sign"),
    ("sign_unicode_arabic.query", 1, "sign"),
    ("stop.query", 0, "stop"),
    ("stop_in_a_sentence_arabic.query", 0, "stop"),  # "نعم HASSAN توقف": yes, the keyword, and stop
    ("binary.form", 0, None),
]


@pytest.mark.parametrize(("name", "counted", "intent"), CAPTURED)
def test_captured_payloads_are_answered_200_and_empty(
    client: TestClient, runtime: Runtime, name: str, counted: int, intent: str | None
) -> None:
    response = deliver_captured(client, name)
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert api_signatures(client, counted) == counted
    assert count(runtime, Signature) == counted
    with runtime.engine.connect() as connection:
        stored = connection.execute(select(InboundMessage.provider, InboundMessage.intent)).all()
    assert stored == ([("vonage", intent)] if intent else [])


def test_an_arabic_opt_out_in_a_sentence_is_confirmed_in_arabic(client: TestClient, runtime: Runtime) -> None:
    assert deliver_captured(client, "stop_in_a_sentence_arabic.query").status_code == 200
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Supporter.opted_out, Supporter.language)).one() == (True, "ar")
        queued = connection.execute(select(OutboxMessage.kind, OutboxMessage.body)).one()
    assert tuple(queued) == ("opt_out_confirmation", replies.STOPPED["ar"])
    assert count(runtime, Signature) == 0


def test_every_webhook_method_signs_the_same_way(client: TestClient, runtime: Runtime) -> None:
    _, fields = captured("sign_ja.query")
    senders = {"GET": "31612345678", "POST": "4915112345678", "JSON": "33612345678"}
    methods: list[Method] = ["GET", "POST", "JSON"]
    for number, method in enumerate(methods):
        message = {**fields, "msisdn": senders[method], "messageId": f"0A00000000000{number:03d}"}
        response = deliver(client, method, sign(message))
        assert response.status_code == 200, (method, response.text)
        assert response.content == b""
    assert api_signatures(client, 3) == 3
    figures = client.get("/api/v1/appeals/hassan").json()
    assert figures["channels"] == {"sms": 3}
    assert {c["country"] for c in figures["top_countries"]} == {"NL", "DE", "FR"}
    assert count(runtime, Signature) == 3


def test_stop_opts_the_supporter_out(client: TestClient, runtime: Runtime) -> None:
    assert deliver_captured(client, "stop.query").status_code == 200
    with runtime.engine.connect() as connection:
        assert connection.scalar(select(Supporter.opted_out)) is True


def test_a_retried_message_id_is_stored_once(client: TestClient, runtime: Runtime) -> None:
    # Vonage retries until it sees a 200; each retry is signed anew, by GET or POST alike.
    _, fields = captured("sign_ja.query")
    methods: list[Method] = ["GET", "GET", "POST"]
    for method in methods:
        response = deliver(client, method, sign(fields))
        assert response.status_code == 200
    assert api_signatures(client, 1) == 1
    assert count(runtime, Signature) == 1
    assert count(runtime, InboundMessage) == 1


# -- concatenated messages ------------------------------------------------------------------------
def test_a_long_message_counts_once_all_parts_arrived_in_any_order(
    client: TestClient, runtime: Runtime
) -> None:
    part1, part2, part3 = LONG_PARTS
    for name in (part2, part3):
        assert deliver_captured(client, name).status_code == 200
        assert count(runtime, Signature) == 0
        assert count(runtime, InboundMessage) == 0
    assert waiting_parts(runtime) == 2

    assert deliver_captured(client, part1).status_code == 200
    # "JA HASSAN" opens part 1 though it came last: the text was put together in part order.
    assert api_signatures(client, 1) == 1
    assert count(runtime, Signature) == 1
    assert waiting_parts(runtime) == 0
    with runtime.engine.connect() as connection:
        message = connection.execute(select(InboundMessage.intent, InboundMessage.provider_message_id)).one()
    assert message == ("sign", captured(part1)[1]["messageId"])

    # A part retried after the whole message was counted does not count it again.
    assert deliver_captured(client, part3).status_code == 200
    assert count(runtime, Signature) == 1
    assert count(runtime, InboundMessage) == 1


def test_a_long_unknown_message_is_kept_whole_as_one_inbound_message(
    client: TestClient, runtime: Runtime
) -> None:
    text = (
        "Hello, my brother was arrested last week in Tunis and we have heard nothing since. "
        "Who can we talk to? "
    ) * 2
    pieces = [text[start : start + 153] for start in range(0, len(text), 153)]
    assert len(pieces) == 2
    _, fields = captured("long_part1_of_3.form")
    for number in (2, 1):
        message = {
            **fields,
            "messageId": f"12000000000000{number:02d}",
            "text": pieces[number - 1],
            "keyword": pieces[number - 1].split()[0].upper(),
            "concat-ref": "7",
            "concat-total": "2",
            "concat-part": str(number),
        }
        assert deliver(client, "JSON", sign(message)).status_code == 200
    with runtime.engine.connect() as connection:
        stored = connection.execute(select(InboundMessage.intent, InboundMessage.body)).all()
    assert stored == [("unknown", text)]
    assert count(runtime, Signature) == 0
    assert waiting_parts(runtime) == 0


# -- refusals -----------------------------------------------------------------------------------
# case, webhook method, field changes (None: left out), how to sign, status, error code
REFUSED: list[tuple[str, Method, dict[str, str | None], str, int, str]] = [
    ("signature of another secret", "GET", {}, "other-secret", 403, "forbidden"),
    ("signature with another method", "POST", {}, "sha512", 403, "forbidden"),
    ("no signature", "GET", {}, "unsigned", 403, "forbidden"),
    ("empty sig", "JSON", {}, "empty-sig", 403, "forbidden"),
    ("sig not ASCII (was a 500)", "GET", {}, "non-ascii-sig", 403, "forbidden"),
    ("stale timestamp (a replay)", "POST", {}, "stale", 403, "forbidden"),
    ("timestamp in the future", "GET", {}, "future", 403, "forbidden"),
    ("timestamp not a number", "POST", {}, "bad-timestamp", 403, "forbidden"),
    ("text changed after signing", "POST", {}, "tamper-text", 403, "forbidden"),
    ("sender changed after signing", "JSON", {}, "tamper-msisdn", 403, "forbidden"),
    ("field added after signing", "GET", {}, "tamper-add", 403, "forbidden"),
    ("no msisdn", "GET", {"msisdn": None}, "signed", 400, "bad_request"),
    ("empty msisdn", "POST", {"msisdn": ""}, "signed", 400, "bad_request"),
    ("no messageId", "JSON", {"messageId": None}, "signed", 400, "bad_request"),
    ("missing to", "JSON", {"to": ""}, "signed", 400, "bad_request"),
    ("number too short", "GET", {"msisdn": "999"}, "signed", 400, "invalid_number"),
    ("letters as number", "POST", {"msisdn": "Amnesty"}, "signed", 400, "invalid_number"),
    ("text over ten parts", "POST", {"text": "JA " * 600}, "signed", 400, "bad_request"),
    ("text with a NUL", "JSON", {"text": "JA\x00"}, "signed", 400, "bad_request"),
    (
        "part over total",
        "POST",
        {"concat": "true", "concat-ref": "9", "concat-total": "3", "concat-part": "4"},
        "signed",
        400,
        "bad_request",
    ),
    (
        "part zero",
        "GET",
        {"concat": "true", "concat-ref": "9", "concat-total": "3", "concat-part": "0"},
        "signed",
        400,
        "bad_request",
    ),
    (
        "concat without a reference",
        "JSON",
        {"concat": "true", "concat-total": "2", "concat-part": "1"},
        "signed",
        400,
        "bad_request",
    ),
]


def prepare(fields: dict[str, str], signing: str) -> dict[str, str]:
    now = int(time.time())
    if signing == "signed":
        return sign(fields)
    if signing == "other-secret":
        return sign(fields, secret="someone-else")
    if signing == "sha512":
        return sign(fields, method="sha512")
    if signing == "unsigned":
        return {**fields, "timestamp": str(now), "nonce": str(uuid.uuid4())}
    if signing == "non-ascii-sig":
        return {**sign(fields), "sig": "é" * 64}
    if signing == "empty-sig":
        return {**fields, "timestamp": str(now), "nonce": str(uuid.uuid4()), "sig": ""}
    if signing == "stale":
        return sign(fields, timestamp=str(now - 301))
    if signing == "future":
        return sign(fields, timestamp=str(now + 600))
    if signing == "bad-timestamp":
        return sign(fields, timestamp="yesterday")
    if signing == "tamper-text":
        return {**sign(fields), "text": "STOP"}
    if signing == "tamper-msisdn":
        return {**sign(fields), "msisdn": "4915112345678"}
    if signing == "tamper-add":
        return {**sign(fields), "concat": "false"}
    raise AssertionError(signing)


@pytest.mark.parametrize(("case", "method", "changes", "signing", "status", "code"), REFUSED)
def test_refused_requests_store_nothing(
    client: TestClient,
    runtime: Runtime,
    case: str,
    method: Method,
    changes: dict[str, str | None],
    signing: str,
    status: int,
    code: str,
) -> None:
    _, fields = captured("sign_ja.query")
    for name, value in changes.items():
        if value is None:
            del fields[name]
        else:
            fields[name] = value
    response = deliver(client, method, prepare(fields, signing))
    assert_error(response, status, code)
    assert count(runtime, InboundMessage) == 0
    assert waiting_parts(runtime) == 0
    assert count(runtime, Supporter) == 0


def test_unreadable_json_is_a_bad_request(client: TestClient, runtime: Runtime) -> None:
    for body in (b"{not json", b"[1, 2]", b'"JA"'):
        response = client.post("/webhooks/vonage", content=body, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "bad_request")
    assert count(runtime, InboundMessage) == 0


def test_a_binary_message_is_not_read_but_still_needs_a_signature(
    client: TestClient, runtime: Runtime
) -> None:
    _, fields = captured("binary.form")
    assert_error(deliver(client, "POST", prepare(fields, "unsigned")), 403, "forbidden")
    response = deliver(client, "POST", sign(fields))
    assert response.status_code == 200
    assert response.content == b""
    assert count(runtime, InboundMessage) == 0
    assert count(runtime, Supporter) == 0


# -- settings variants ------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST", "JSON"])
def test_without_a_signature_secret_nothing_is_taken(
    app_with: StartApp, runtime: Runtime, method: Method
) -> None:
    """A Twilio-only install: unsigned (or signed-with-anything) Vonage texts are 403 and never count."""
    http = app_with(vonage_signature_secret="")
    _, fields = captured("sign_ja.query")
    for attempt in (fields, sign(fields), sign(fields, secret="someone-else")):
        refused = deliver(http, method, attempt)
        assert_error(refused, 403, "forbidden")
        assert "CAMPAIGN_VONAGE_SIGNATURE_SECRET is not set" in refused.json()["error"]["message"]
    assert count(runtime, InboundMessage) == 0
    assert count(runtime, Signature) == 0
    assert count(runtime, Supporter) == 0
    assert api_signatures(http, 0, timeout=0) == 0


def test_without_a_signature_secret_forged_receipts_are_refused(app_with: StartApp) -> None:
    http = app_with(vonage_signature_secret="")
    receipt = {"msisdn": "31612345678", "to": "4777", "messageId": "0A00000001", "status": "failed"}
    assert_error(http.get("/webhooks/vonage/delivery", params=receipt), 403, "forbidden")
    assert_error(http.post("/webhooks/vonage/delivery", data=receipt), 403, "forbidden")
    assert_error(http.post("/webhooks/vonage/delivery", json=receipt), 403, "forbidden")
    assert http.get("/healthz").json()["unsigned_providers"] == []


def test_unsigned_only_with_the_explicit_setting_which_warns_and_shows_on_healthz(
    app_with: StartApp, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="campaign.ingest"):
        http = app_with(vonage_signature_secret="", vonage_allow_unsigned=True)
    assert any("UNSIGNED" in record.getMessage() for record in caplog.records)
    assert http.get("/healthz").json()["unsigned_providers"] == ["vonage"]
    method, fields = captured("sign_ja.query")
    response = deliver(http, method, fields)
    assert response.status_code == 200
    assert api_signatures(http, 1) == 1
    assert count(runtime, Signature) == 1
    receipt = {"messageId": "0A00000001", "status": "delivered"}
    assert http.get("/webhooks/vonage/delivery", params=receipt).json() == {"known": False}


def test_with_a_secret_allowing_unsigned_changes_nothing(app_with: StartApp, runtime: Runtime) -> None:
    http = app_with(vonage_allow_unsigned=True)
    _, fields = captured("sign_ja.query")
    assert_error(deliver(http, "GET", prepare(fields, "unsigned")), 403, "forbidden")
    assert http.get("/healthz").json()["unsigned_providers"] == []
    assert deliver(http, "GET", sign(fields)).status_code == 200
    assert count(runtime, Signature) == 1


@pytest.mark.parametrize("method", ["md5", "sha1", "sha512"])
def test_each_hmac_method_of_the_settings_is_checked(
    app_with: StartApp, runtime: Runtime, method: Literal["md5", "sha1", "sha512"]
) -> None:
    http = app_with(vonage_signature_method=method)
    _, fields = captured("sign_keyword.form")
    assert_error(deliver(http, "POST", sign(fields)), 403, "forbidden")  # sha256: the wrong one
    assert deliver(http, "POST", sign(fields, method=method)).status_code == 200
    assert count(runtime, Signature) == 1


def test_legacy_md5hash_signatures_are_checked(app_with: StartApp, runtime: Runtime) -> None:
    http = app_with(vonage_signature_method="md5hash")
    method, fields = captured("sign_ja.query")
    stamped = {**fields, "timestamp": str(int(time.time())), "nonce": str(uuid.uuid4())}

    forged = {**stamped, "sig": md5hash_sig(stamped, "someone-else")}
    assert_error(deliver(http, method, forged), 403, "forbidden")
    hmac_signed = sign(fields)
    assert_error(deliver(http, method, hmac_signed), 403, "forbidden")

    response = deliver(http, method, {**stamped, "sig": md5hash_sig(stamped, VONAGE_SECRET)})
    assert response.status_code == 200
    assert response.content == b""
    assert count(runtime, Signature) == 1


def test_a_reused_concat_reference_is_not_mixed_with_a_stale_part(
    client: TestClient, runtime: Runtime
) -> None:
    _, fields = captured("long_part1_of_3.form")

    def part(message_id: str, text: str, number: int, total: int) -> dict[str, str]:
        return sign(
            {
                **fields,
                "messageId": message_id,
                "text": text,
                "keyword": text.split()[0].upper(),
                "concat-ref": "5",
                "concat-total": str(total),
                "concat-part": str(number),
            }
        )

    for number in (1, 2, 3, 3):  # part 3 retried: Vonage did not see the first 200
        response = deliver(client, "POST", part(f"13000000000000A{number}", f"first{number} ", number, 3))
        assert response.status_code == 200
    # Weeks later the same phone's two-part text gets the same (8-bit) reference.
    for number in (1, 2):
        response = deliver(client, "POST", part(f"13000000000000B{number}", f"later{number} ", number, 2))
        assert response.status_code == 200
    with runtime.engine.connect() as connection:
        bodies = connection.execute(
            select(InboundMessage.body).order_by(InboundMessage.provider_message_id)
        ).scalars()
        assert list(bodies) == ["first1 first2 first3 ", "later1 later2 "]


def test_replies_are_queued_for_the_sms_api_once_each(client: TestClient, runtime: Runtime) -> None:
    # Vonage ignores the answer's body: what Twilio's TwiML would carry goes to the outbox.
    _, fields = captured("sign_ja.query")
    texts = [("0A10", "JA"), ("0A10", "JA"), ("0A11", "HELP"), ("0A12", "BLAH"), ("0A13", "STOP")]
    for message_id, text in texts:  # the second is Vonage's retry of the first
        response = deliver(client, "GET", sign({**fields, "messageId": message_id, "text": text}))
        assert response.status_code == 200 and response.content == b""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.body).order_by(OutboxMessage.id)
        ).all()
    assert [(kind, status) for kind, status, _ in rows] == [
        ("thank_you", "queued"),
        ("help", "queued"),
        ("reply", "queued"),
        ("opt_out_confirmation", "queued"),
    ]
    assert all(body for _, _, body in rows)
    assert "Hassan" in rows[0].body  # rendered again with the count when it is sent
