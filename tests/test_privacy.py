"""No full phone number in the database, Redis, logs or answers, whatever is sent."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import MetaData, select

from campaign.runtime import Runtime
from tests.conftest import Server, post_twilio, twilio_form

NUMBER = "+31612345678"
DIGITS = "612345678"


@pytest.mark.usefixtures("hassan")
def test_a_number_is_nowhere_in_clear(ingest_server: Server, runtime: Runtime) -> None:
    with httpx.Client(base_url=ingest_server.url) as http:
        answers = [
            post_twilio(http, twilio_form("SMp1", NUMBER, "JA")),
            post_twilio(http, twilio_form("SMp2", NUMBER, "what is this")),
            post_twilio(http, twilio_form("SMp3", NUMBER, "STOP")),
            http.post(
                "/webhooks/twilio",
                data=twilio_form("SMp4", NUMBER, "JA"),
                headers={"X-Twilio-Signature": "forged"},
            ),
            http.get(
                "/webhooks/vonage",
                params={"msisdn": NUMBER[1:], "to": "4777", "messageId": "V1", "text": "JA"},
            ),
            http.get("/api/v1/appeals/hassan"),
            http.get("/api/v1/appeals"),
        ]
    for answer in answers:
        assert DIGITS not in answer.text
    ingest_server.stop()
    assert DIGITS not in ingest_server.log.read_text()
    for key in runtime.redis.scan_iter("*"):
        assert DIGITS not in str(runtime.redis.dump(key))
    metadata = MetaData()
    metadata.reflect(runtime.engine)
    with runtime.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                assert DIGITS not in repr(tuple(row)), table.name
