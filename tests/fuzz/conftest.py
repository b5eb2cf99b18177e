"""Bad input, generated: what every fuzz test shares.

Hypothesis runs a bounded number of examples per test (``FUZZ_EXAMPLES``, default 30;
raise it locally with ``CAMPAIGN_FUZZ_EXAMPLES=500``) so the folder stays well under a
minute in CI.  Each HTTP test runs against the real app on both backends, and after the
examples the database is checked: whatever was stored is clean text within its column's
length (``assert_clean_store``), never a NUL, a lone surrogate or a cut-off id.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, String, select
from starlette.testclient import TestClient

from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import Base
from ingest.app import create_app
from tests.conftest import PUBLIC_URL, TWILIO_TOKEN, VONAGE_SECRET, Backend

META_SECRET = "test-meta-app-secret"
META_VERIFY = "test-meta-verify-token"
FUZZ_EXAMPLES = int(os.environ.get("CAMPAIGN_FUZZ_EXAMPLES", "30"))

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # One app and one database serve all examples of a test: that is the point (replays,
    # duplicates and garbage accumulate the way they would in production).
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz")
FUZZ_FEW = settings(FUZZ, max_examples=max(10, FUZZ_EXAMPLES // 2))  # for the slower tests

# Things people and attackers actually send, mixed into generated text.
NASTY = [
    "",
    " ",
    "JA",
    "ja 👍",
    "ＪＡ",
    "Ja!!!",
    "نعم",
    "ДА",
    "是",
    "हाँ",
    "👍🏽✊🏿🇰🇪",
    "ZWJ 👩‍👩‍👧‍👦",
    "\u202egnp.exe",
    "a\u0301\u0301\u0301",
    "' OR '1'='1",
    "'); DROP TABLE signatures;--",
    "1; SELECT pg_sleep(10)",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "%00",
    "%ff%fe",
    "\x00",
    "a\x00b",
    "\r\n\r\n",
    "\t\x0b\x0c",
    "\ufeff",
    "\ufffd",
    "9" * 400,
    "x" * 2000,
    "+31612345678",
    "0031612345678",
]

any_text = st.text(st.characters(codec="utf-8"), max_size=300)  # no lone surrogates: a form cannot carry one
nasty_text = st.one_of(
    st.sampled_from(NASTY), any_text, st.builds(str.__add__, st.sampled_from(NASTY), any_text)
)
# Numbers as providers, old CSV files and people type them, and things that are not numbers.
phone_text = st.one_of(
    st.sampled_from(["+31612345678", "31612345679", "0612345670", "+254722000001", "+1 415 555 0100"]),
    st.from_regex(r"\+?[0-9]{6,16}", fullmatch=True),
    nasty_text,
)


def mostly(valid: st.SearchStrategy[object], bad: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Valid three times in four: a request with one bad field goes deeper than all-garbage."""
    return st.one_of(valid, valid, valid, bad)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    nasty_text,
    st.text(max_size=50),  # may hold lone surrogates: JSON can
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6), st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


@pytest.fixture
def settings_for_fuzz(backend: Backend, tmp_path: Path) -> Settings:
    return Settings.load(
        data_dir=tmp_path / "data",
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        secret_key="test-secret-key",
        public_url=PUBLIC_URL,
        twilio_auth_token=TWILIO_TOKEN,
        vonage_signature_secret=VONAGE_SECRET,
        vonage_signature_method="sha256",
        meta_app_secret=META_SECRET,
        meta_verify_token=META_VERIFY,
        rate_limit_webhooks=0,  # inputs are fuzzed here, not rates (tests/ingest/test_ratelimit.py)
        rate_limit_api=0,
        rate_limit_feeds=0,
        rate_limit_beacon=0,
        _env_file=None,
    )


@pytest.fixture
def fuzz_runtime(settings_for_fuzz: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(settings_for_fuzz, migrate=False)
    yield rt
    rt.close()


@pytest.fixture
def fuzz_client(settings_for_fuzz: Settings, fuzz_runtime: Runtime) -> Iterator[TestClient]:
    """The real app; a server error comes back as a 500 response, which every test refuses."""
    app = create_app(settings_for_fuzz, fuzz_runtime)
    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as client:
        yield client


def assert_refusal(response: object, *statuses: int) -> None:
    """A refusal is one of ``statuses`` in the one JSON error shape, with a reason."""
    status = response.status_code  # type: ignore[attr-defined]
    assert status in statuses, f"{status}: {response.text[:300]}"  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["status"] == status and error["code"] and error["message"]


def assert_clean_store(engine: Engine) -> None:
    """Every text the database holds is clean: no NUL, no lone surrogate, within its column."""
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            if not columns:
                continue
            for row in connection.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    where = f"{table.name}.{column.name} = {value[:80]!r}"
                    assert "\x00" not in value, where
                    value.encode("utf-8")  # raises on a lone surrogate
                    if column.type.length is not None:
                        assert len(value) <= column.type.length, where
