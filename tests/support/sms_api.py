"""A local stand-in for the SMS providers' REST APIs, speaking their HTTP as they do.

Twilio: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (Basic auth), answering 201 with
``{"sid": "SM..."}``, or the error JSON Twilio sends (``{"code": 21610, ...}``, 429 with
code 20429 and Retry-After).  Vonage: ``POST /sms/json``, answering 200 with a ``messages``
list whose ``status`` says what happened ("1": throttled).  Every text received is kept,
so a test counts what a supporter really got.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-twilio-auth-token"
VONAGE_KEY = "vonage-key"
VONAGE_SECRET = "vonage-secret"


@dataclass
class Behaviour:
    throttle_first: int = 0  # answer 429 to this many requests first
    server_error_first: int = 0  # then 503 to this many
    unsubscribed: set[str] = field(default_factory=set)  # numbers that texted STOP to the provider
    invalid: set[str] = field(default_factory=set)  # numbers the provider cannot reach
    retry_after: str = "0"
    delay: float = 0.0  # seconds before each answer


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client killed mid-request (the crash test) resets its connections


class SmsApi:
    def __init__(self, behaviour: Behaviour | None = None):
        self.behaviour = behaviour or Behaviour()
        self.received: list[dict[str, str]] = []  # accepted texts
        self.requests = 0
        self.throttled = 0
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmsApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def texts_to(self, number: str) -> list[str]:
        with self.lock:
            return [m["body"] for m in self.received if m["to"].lstrip("+") == number.lstrip("+")]

    # -- the protocol --------------------------------------------------------------------------
    def answer(
        self, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, str], object]:
        if self.behaviour.delay:
            time.sleep(self.behaviour.delay)  # outside the lock: answers overlap, as a real API's do
        with self.lock:
            self.requests += 1
            b = self.behaviour
            if path == "/sms/json":
                return self._vonage(form)
            if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                return 404, {}, {"code": 20404, "message": "not found", "status": 404}
            expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if headers.get("authorization") != expected:
                return 401, {}, {"code": 20003, "message": "Authenticate", "status": 401}
            if b.throttle_first > 0:
                b.throttle_first -= 1
                self.throttled += 1
                return (
                    429,
                    {"Retry-After": b.retry_after},
                    {"code": 20429, "message": "Too Many Requests", "status": 429},
                )
            if b.server_error_first > 0:
                b.server_error_first -= 1
                return 503, {}, {"code": 20500, "message": "Service unavailable", "status": 503}
            to = form.get("To", "")
            if to in b.unsubscribed:
                return (
                    400,
                    {},
                    {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
                )
            if to in b.invalid:
                return (
                    400,
                    {},
                    {
                        "code": 21211,
                        "message": f"The 'To' number {to} is not a valid phone number.",
                        "status": 400,
                    },
                )
            sid = "SM" + uuid.uuid4().hex
            self.received.append(
                {
                    "provider": "twilio",
                    "sid": sid,
                    "to": to,
                    "from": form.get("From", ""),
                    "body": form.get("Body", ""),
                    "callback": form.get("StatusCallback", ""),
                }
            )
            return (
                201,
                {},
                {"sid": sid, "status": "queued", "to": to, "body": form.get("Body", ""), "error_code": None},
            )

    def _vonage(self, form: dict[str, str]) -> tuple[int, dict[str, str], object]:
        b = self.behaviour
        if form.get("api_key") != VONAGE_KEY or form.get("api_secret") != VONAGE_SECRET:
            return (
                200,
                {},
                {"message-count": "1", "messages": [{"status": "4", "error-text": "Bad Credentials"}]},
            )
        if b.throttle_first > 0:
            b.throttle_first -= 1
            self.throttled += 1
            return (
                200,
                {},
                {
                    "message-count": "1",
                    "messages": [{"status": "1", "error-text": "Throughput Rate Exceeded"}],
                },
            )
        to = form.get("to", "")
        if "+" + to in b.unsubscribed:
            return (
                200,
                {},
                {"message-count": "1", "messages": [{"status": "7", "error-text": "Number barred"}]},
            )
        message_id = uuid.uuid4().hex[:16].upper()
        self.received.append(
            {
                "provider": "vonage",
                "sid": message_id,
                "to": to,
                "from": form.get("from", ""),
                "body": form.get("text", ""),
                "callback": form.get("callback", ""),
                "client-ref": form.get("client-ref", ""),
            }
        )
        return (
            200,
            {},
            {"message-count": "1", "messages": [{"to": to, "message-id": message_id, "status": "0"}]},
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                if len(raw) < length:
                    return  # the client went away mid-request: nothing was submitted
                form = dict(parse_qsl(raw.decode()))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, body = api.answer(self.path, headers, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
