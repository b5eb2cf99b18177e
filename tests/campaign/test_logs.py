"""Log lines: JSON or key=value, and never a phone number, wherever it hides in a record."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from campaign import logs
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.app import create_app
from tests.conftest import PUBLIC_URL


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /webhooks/vonage?msisdn=31612345678&to=4777", "GET /webhooks/vonage?msisdn=•••78&to=4777"),
        ("from +31 6 1234 5678.", "from +•••78."),
        ("sender 0612345678 and 06-1234-5678", "sender •••78 and •••78"),
        ("+31612345678,+254722000001", "+•••78,+•••01"),
    ],
)
def test_numbers_are_masked(text: str, masked: str) -> None:
    assert logs.mask_phones(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01 02:37:23 committed 500 texts in 12.345678 s",
        "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "request 550e8400-e29b-41d4-a716-446655440000 from 192.168.100.200:8000",
        "hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "total 1,234,567 of goal 10000",
    ],
)
def test_what_is_not_a_number_stays(text: str) -> None:
    assert logs.mask_phones(text) == text


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, list[str]]]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure(Settings.load(log_format="json", log_level="debug", _env_file=None), stream)
    yield stream, [line for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_hide_numbers_in_message_arguments_fields_and_tracebacks(
    captured: tuple[io.StringIO, list[str]],
) -> None:
    stream, _ = captured
    log = logging.getLogger("campaign.test")
    log.info("text from %s", "+31612345678", extra={"sender": "31612345679", "batch": 3})
    try:
        raise ValueError("could not parse +31 6 1234 5670")
    except ValueError:
        log.exception("failed for %r", {"From": "+31612345671"})
    first, second = lines(stream)
    assert first["message"] == "text from +•••78" and first["sender"] == "•••79" and first["batch"] == 3
    assert first["level"] == "info" and first["logger"] == "campaign.test"
    assert second["level"] == "error" and "ValueError: could not parse +•••70" in str(second["error"])
    assert "•••71" in str(second["message"])
    assert "612345" not in stream.getvalue()


def test_text_lines_are_key_value() -> None:
    stream = io.StringIO()
    handler = logs.configure(Settings.load(log_format="text", _env_file=None), stream)
    try:
        logging.getLogger("campaign.access").info(
            "", extra={"route": "/r/{campaign}", "status": 302, "note": "a b"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.endswith('info campaign.access route=/r/{campaign} status=302 note="a b"')


def test_the_access_line_names_the_route_never_the_query(
    captured: tuple[io.StringIO, list[str]], settings: Settings, runtime: Runtime
) -> None:
    stream, _ = captured
    query = urlencode({"msisdn": "31612345678", "to": "4777", "messageId": "0A01", "text": "JA"})
    app = create_app(settings.model_copy(update={"access_log": True}), runtime)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        client.get(f"/webhooks/vonage?{query}")
    access = [line for line in lines(stream) if line["logger"] == "campaign.access"]
    assert access == [
        {**access[0], "method": "GET", "route": "/webhooks/vonage", "status": 403},
    ]
    assert "612345" not in stream.getvalue()
    assert logging.getLogger("uvicorn.access").disabled


def test_no_access_line_unless_asked(captured: tuple[io.StringIO, list[str]], client: TestClient) -> None:
    client.get("/healthz")
    assert not [line for line in lines(captured[0]) if line["logger"] == "campaign.access"]


def test_library_chatter_with_urls_stays_out(captured: tuple[io.StringIO, list[str]]) -> None:
    """httpx logs every request's URL at INFO: a Flickr API key in its query string reached stderr."""
    logging.getLogger("httpx").info('HTTP Request: GET https://api.flickr.com/?api_key=secret "200 OK"')
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    assert "api_key" not in captured[0].getvalue() and "SQLiteImpl" not in captured[0].getvalue()
