"""``GET /metrics``: what the ingest did, by route template, in Prometheus' text format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select, update
from starlette.testclient import TestClient

from campaign.messaging import outbox
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import Appeal, OutboxMessage, Supporter
from tests.conftest import post_twilio, start_ingest, twilio_form, twilio_signature

METRICS_TOKEN = "test-metrics-token-" + "0" * 16


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test's settings with a metrics token: the test client is not this machine itself."""
    return settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})


def scrape(client: TestClient) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    return response.text, samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_texts_and_rejects_are_counted(
    client: TestClient, runtime: Runtime, hassan: object, screen_token: Callable[..., str]
) -> None:
    form = twilio_form("SM" + "a" * 32, "+31612345678", "JA")
    assert post_twilio(client, form).status_code == 200
    assert post_twilio(client, form).status_code == 200  # Twilio's retry: stored once
    assert post_twilio(client, twilio_form("SM" + "b" * 32, "+31612345679", "BLAH")).status_code == 200
    forged = client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    broken = {**form, "MessageSid": ""}
    assert post_twilio(client, broken).status_code == 400
    huge = client.post(
        "/webhooks/twilio", content=b"x" * 70_000, headers={"X-Twilio-Signature": twilio_signature({})}
    )
    assert huge.status_code == 413
    token = screen_token(appeal="hassan")
    assert client.get(f"/api/v1/appeals/hassan/total.txt?token={token}").text == "1"
    assert client.get("/no/such/thing/31612345678").status_code == 404
    vonage = {"msisdn": "31612345670", "to": "4777", "messageId": "0A01", "text": "JA"}
    client.get("/webhooks/vonage?" + urlencode(vonage))  # refused (unsigned), but counted

    text, samples = scrape(client)
    requests = "campaign_http_requests_total"
    assert value(samples, requests, route="/webhooks/twilio", method="POST", status="200") == 3
    assert value(samples, requests, route="/api/v1/appeals/{slug}/total.txt", method="GET", status="200") == 1
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1
    rejects = "campaign_http_rejects_total"
    assert value(samples, rejects, route="/webhooks/twilio", reason="bad_signature") == 1
    assert value(samples, rejects, route="/webhooks/twilio", reason="bad_input") == 1
    assert (
        value(samples, rejects, route="/webhooks/twilio", reason="too_large") == 1
    )  # refused before routing
    assert value(samples, rejects, route="/webhooks/vonage", reason="bad_signature") == 1
    texts = "campaign_texts_total"
    assert value(samples, texts, provider="twilio", result="accepted") == 1
    assert value(samples, texts, provider="twilio", result="duplicate") == 1
    assert value(samples, texts, provider="twilio", result="unknown_keyword") == 1
    latency = "campaign_http_request_duration_seconds_count"
    assert value(samples, latency, route="/webhooks/twilio") == 6
    assert value(samples, "campaign_backend_seconds_count", backend="database", operation="commit") >= 1
    assert value(samples, "campaign_backend_seconds_count", backend="redis", operation="apply") >= 1
    assert value(samples, "campaign_commit_queue_requests") == 0
    assert value(samples, "campaign_spool_files") == 0
    assert value(samples, "campaign_overlay_viewers") == 0
    for lane in ("reply", "bulk"):
        assert ("campaign_outbox_due", (("lane", lane),)) in samples
        assert value(samples, "campaign_outbox_due", lane=lane) == 0
        assert value(samples, "campaign_outbox_lag_seconds", lane=lane) == 0
    assert ("campaign_outbox_unknown", ()) in samples and value(samples, "campaign_outbox_unknown") == 0
    assert value(samples, "process_resident_memory_bytes") > 0
    # Labels are templates: no slug of a path nobody routes, no number from a query string.
    assert "31612345678" not in text and "31612345670" not in text and "/no/such" not in text


def test_outbox_lag_is_the_wait_of_the_oldest_due_text(
    client: TestClient, runtime: Runtime, hassan: object
) -> None:
    assert post_twilio(client, twilio_form("SM" + "c" * 32, "+31612345678", "JA")).status_code == 200
    with runtime.engine.begin() as connection:
        supporter = connection.scalar(select(Supporter.id))
        assert supporter is not None
        now = datetime.now(UTC)
        outbox.queue_replies(
            connection, [(supporter, "help", "Reply JA to sign.")], now=now - timedelta(minutes=2)
        )
        outbox.queue_replies(connection, [(supporter, "help", "Later.")], now=now + timedelta(hours=1))
        outbox.queue_batch(
            connection,
            select(Supporter.id),
            kind="alert",
            appeal_id=connection.scalar(select(Appeal.id)),
            batch="b1",
            dedupe_prefix="alert:test:",
            body="An alert.",
        )
        doubt = update(OutboxMessage).where(OutboxMessage.body == "Later.").values(status="unknown")
        connection.execute(doubt)
    _, samples = scrape(client)
    # Each lane on its own: the help reply is two minutes late, the alert just queued.
    assert value(samples, "campaign_outbox_due", lane="reply") == 1  # the one not yet due is not late
    assert 120 <= value(samples, "campaign_outbox_lag_seconds", lane="reply") < 130
    assert value(samples, "campaign_outbox_due", lane="bulk") == 1
    assert 0 <= value(samples, "campaign_outbox_lag_seconds", lane="bulk") < 10
    assert value(samples, "campaign_outbox_unknown") == 1  # a text in doubt


def test_social_events_are_counted(client: TestClient, runtime: Runtime, kenya: object) -> None:
    for _ in range(2):
        assert client.get("/r/kenya?from=facebook", follow_redirects=False).status_code == 302
    _, samples = scrape(client)
    assert value(samples, "campaign_social_events_total", source="beacon", result="stored") == 2
    assert (
        value(samples, "campaign_http_requests_total", route="/r/{campaign}", method="GET", status="302") == 2
    )


def test_several_processes_answer_the_sum_in_multiprocess_mode(
    settings: Settings, runtime: Runtime, hassan: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, any one ingest process answers for all of them."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    servers = [start_ingest(settings, tmp_path / f"ingest-{n}.log") for n in range(2)]
    try:
        for n, server in enumerate(servers):
            with httpx.Client(base_url=server.url) as http:
                form = twilio_form(f"SM{n:032d}", f"+3161234567{n}", "JA")
                assert (
                    http.post(
                        "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(form)}
                    ).status_code
                    == 200
                )
        for server in servers:
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                # The servers run without a token: this machine, connecting directly, reads them.
                for family in text_string_to_metric_families(httpx.get(server.url + "/metrics").text)
                for s in family.samples
            }
            assert value(samples, "campaign_texts_total", provider="twilio", result="accepted") == 2
            assert value(samples, "campaign_commit_queue_requests") == 0  # this process's own gauge
    finally:
        for server in servers:
            server.stop()
