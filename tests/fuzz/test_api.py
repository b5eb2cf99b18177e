"""The events and demonstrations API under generated input: 200 with counts, or a 4xx naming why.

An accepted batch is stored exactly as sent (each event once); a refused batch stores nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campaign.access import tokens
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.storage.models import Demonstration, SocialEvent
from tests.fuzz.conftest import FUZZ, assert_clean_store, assert_refusal, json_values, mostly, nasty_text


@pytest.fixture
def token(fuzz_runtime: Runtime) -> str:
    summary = appeals.add_appeal(
        fuzz_runtime.engine, slug="kenya", title="Reach Out for Kenya", campaign="kenya"
    )
    fuzz_runtime.live.publish_appeal(summary.public())
    return tokens.create(fuzz_runtime.engine, "fuzz")


def post(client: TestClient, path: str, token: str, body: bytes) -> Any:
    return client.post(
        path, content=body, headers={"authorization": f"Bearer {token}", "content-type": "application/json"}
    )


def count(runtime: Runtime, model: type) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


recent = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.timezones()
).map(lambda d: d.isoformat())
moments = st.one_of(
    recent,
    recent,
    recent,
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),  # no time zone: refused
    st.integers(min_value=-(2**63), max_value=2**63),
    st.just((datetime.now(UTC) - timedelta(hours=1)).isoformat()),
    nasty_text,
)
events = st.fixed_dictionaries(
    {
        "platform": mostly(st.sampled_from(["facebook", "web", "flickr"]), nasty_text),
        "kind": mostly(st.sampled_from(["join", "visit", "photo"]), nasty_text),
        "occurred_at": moments,
        "external_id": mostly(st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True), nasty_text),
    },
    optional={
        "country": mostly(st.sampled_from(["KE", "NL", "ke"]), nasty_text),
        "actor": nasty_text,
        "attributes": st.dictionaries(st.text(max_size=70), json_values, max_size=5),
        "extra": json_values,
    },
)


scopes = mostly(
    st.sampled_from([{"campaign": "kenya"}, {"appeal": "kenya"}]),
    st.dictionaries(st.sampled_from(["campaign", "appeal"]), nasty_text),
)
scoped_events = st.builds(lambda event, scope: {**event, **scope}, events, scopes)


@FUZZ
@given(items=st.lists(mostly(scoped_events, json_values), max_size=4), wrapped=st.booleans())
def test_events(
    fuzz_client: TestClient, fuzz_runtime: Runtime, token: str, items: list[Any], wrapped: bool
) -> None:
    before = count(fuzz_runtime, SocialEvent)
    body = json.dumps({"events": items} if wrapped else items).encode()
    response = post(fuzz_client, "/api/v1/events", token, body)
    after = count(fuzz_runtime, SocialEvent)
    event(f"status {response.status_code}")
    if response.status_code == 200:
        answer = response.json()
        assert answer["stored"] + answer["duplicates"] == len(items)
        assert after - before == answer["stored"]
    else:
        assert_refusal(response, 400, 404)
        assert after == before  # one bad item refuses the whole batch
    assert_clean_store(fuzz_runtime.engine)


@FUZZ
@given(payload=st.one_of(json_values, st.binary(max_size=500)))
def test_events_any_body(fuzz_client: TestClient, fuzz_runtime: Runtime, token: str, payload: Any) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = post(fuzz_client, "/api/v1/events", token, body)
    event(f"status {response.status_code}")
    if response.status_code != 200:
        assert_refusal(response, 400, 404)


demonstrations = st.fixed_dictionaries(
    {
        "campaign": mostly(st.just("kenya"), nasty_text),
        "title": nasty_text,
        "city": mostly(st.sampled_from(["Nairobi", "Amsterdam", "Mombasa"]), nasty_text),
        "country": mostly(st.sampled_from(["KE", "Kenya", "NLD", "Netherlands"]), nasty_text),
        "starts_at": moments,
    },
    optional={
        "latitude": st.one_of(st.floats(allow_nan=False, allow_infinity=False), nasty_text),
        "longitude": st.one_of(st.floats(allow_nan=False, allow_infinity=False), nasty_text),
        "attendance": st.one_of(st.integers(-(10**20), 10**20), nasty_text),
        "organiser": nasty_text,
        "links": st.lists(mostly(st.just("https://example.org/x"), nasty_text), max_size=3),
        "photos": json_values,
    },
)


@FUZZ
@given(items=st.lists(mostly(demonstrations, json_values), max_size=3))
def test_demonstrations(fuzz_client: TestClient, fuzz_runtime: Runtime, token: str, items: list[Any]) -> None:
    before = count(fuzz_runtime, Demonstration)
    response = post(
        fuzz_client, "/api/v1/demonstrations", token, json.dumps({"demonstrations": items}).encode()
    )
    after = count(fuzz_runtime, Demonstration)
    event(f"status {response.status_code}")
    if response.status_code == 200:
        assert response.json()["saved"] == len(items)
        assert after - before <= len(items)  # the same demonstration again is updated, not doubled
    else:
        assert_refusal(response, 400, 404)
        assert after == before
    assert_clean_store(fuzz_runtime.engine)


@FUZZ
@given(external_id=nasty_text, actor=nasty_text, note=nasty_text, country=mostly(st.just("KE"), nasty_text))
def test_free_text_of_an_event_is_stored_as_sent(
    fuzz_client: TestClient,
    fuzz_runtime: Runtime,
    token: str,
    external_id: str,
    actor: str,
    note: str,
    country: str,
) -> None:
    item = {
        "platform": "web",
        "kind": "visit",
        "campaign": "kenya",
        "occurred_at": "2026-11-21T20:15:04Z",
        "external_id": external_id,
        "actor": actor,
        "country": country,
        "attributes": {"note": note},
    }
    response = post(fuzz_client, "/api/v1/events", token, json.dumps([item]).encode())
    event(f"status {response.status_code}")
    if response.status_code == 200 and response.json()["stored"]:  # else: this external id came before
        with fuzz_runtime.engine.connect() as connection:
            row = connection.execute(
                select(SocialEvent.attributes, SocialEvent.country).where(
                    SocialEvent.external_id == external_id
                )
            ).one()
        assert row.attributes == {"note": note} and row.country == country.upper()
    elif response.status_code != 200:
        assert_refusal(response, 400)
    assert_clean_store(fuzz_runtime.engine)
