"""The providers' shared reading of forms and signed URLs, against the library code it replaces."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from campaign.errors import BadRequest
from campaign.settings import Settings
from ingest.providers.base import MAX_FIELDS, form_fields
from ingest.providers.twilio import Twilio


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=12))
def test_form_fields_read_what_parse_qsl_reads(pairs: list[tuple[str, str]]) -> None:
    body = urlencode(pairs)
    assert form_fields(body.encode()) == dict(parse_qsl(body, keep_blank_values=True))


@given(st.text(alphabet="ab=&%+2F0 é", max_size=30))
def test_form_fields_read_any_text_as_parse_qsl(text: str) -> None:
    assert form_fields(text.encode()) == dict(parse_qsl(text, keep_blank_values=True))


def test_too_many_fields_are_refused() -> None:
    form_fields(b"&".join([b"a=1"] * MAX_FIELDS))
    with pytest.raises(BadRequest, match="more than 200 fields"):
        form_fields(b"&".join([b"a=1"] * (MAX_FIELDS + 1)))


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/webhooks/twilio", b""),
        ("/webhooks/twilio", b"campaign=kenya&x=%20y"),
        ("/webhooks/tw?lio", b""),
        ("/webhooks/tw lio", b"a=1#frag"),
        ("/webhooks/twi\\lio", b"a=b"),
    ],
)
def test_the_signed_url_is_starlettes(tmp_path: Path, path: str, query: bytes) -> None:
    settings = Settings.load(data_dir=tmp_path, public_url="https://campaign.example.org", _env_file=None)
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query,
        "headers": [(b"host", b"campaign.example.org")],
        "scheme": "https",
    }
    request = Request(scope)
    expected = settings.public_url + request.url.path
    expected = f"{expected}?{request.url.query}" if request.url.query else expected
    assert Twilio(settings).public_url(request) == expected
