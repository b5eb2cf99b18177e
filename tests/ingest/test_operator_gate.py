"""``/metrics`` and the details of ``/healthz`` are for the operators (issue 14, finding 9).

The attack: through the documented proxy (``location /`` passes everything to the ingest),
anyone read the volumes, opt-outs and outbox backlog on /metrics and which backend was down
on /healthz.  A reverse proxy on the same machine connects from loopback, so loopback alone
is not "this machine": a forwarding header says the request came through a proxy.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from campaign.errors import ConfigurationError
from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.app import create_app
from tests.conftest import PUBLIC_URL

TOKEN = "a" * 20 + "-metrics-token"
LOOPBACK = ("127.0.0.1", 50123)
ELSEWHERE = ("203.0.113.9", 5000)


def status(settings: Settings, runtime: Runtime, peer: tuple[str, int], headers: dict[str, str]) -> int:
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL, client=peer) as http:
        return http.get("/metrics", headers=headers).status_code


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        (LOOPBACK, {}, 200),  # this machine: ./dev up, a local Prometheus, the tests
        (("::1", 50123), {}, 200),
        (ELSEWHERE, {}, 403),
        (LOOPBACK, {"X-Forwarded-For": "203.0.113.9"}, 403),  # the proxy on this machine, for a client
        (LOOPBACK, {"X-Forwarded-For": "127.0.0.1"}, 403),  # ... whatever the client claims
        (LOOPBACK, {"Forwarded": "for=203.0.113.9"}, 403),
        (LOOPBACK, {"X-Real-IP": "203.0.113.9"}, 403),
        (ELSEWHERE, {"Authorization": f"Bearer {TOKEN}"}, 403),  # no token is configured
    ],
)
def test_without_a_token_only_this_machine_reads_the_metrics(
    settings: Settings, runtime: Runtime, peer: tuple[str, int], headers: dict[str, str], expected: int
) -> None:
    assert status(settings, runtime, peer, headers) == expected


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        (ELSEWHERE, {"Authorization": f"Bearer {TOKEN}"}, 200),
        (LOOPBACK, {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.9"}, 200),
        (ELSEWHERE, {"Authorization": f"bearer {TOKEN}"}, 200),
        (ELSEWHERE, {}, 401),
        (LOOPBACK, {}, 401),  # with a token, everyone shows it
        (ELSEWHERE, {"Authorization": f"Bearer {TOKEN}x"}, 401),
        (ELSEWHERE, {"Authorization": f"Basic {TOKEN}"}, 401),
        (ELSEWHERE, {"Authorization": "Bearer"}, 401),
    ],
)
def test_with_a_token_the_metrics_need_it(
    settings: Settings, runtime: Runtime, peer: tuple[str, int], headers: dict[str, str], expected: int
) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    assert status(guarded, runtime, peer, headers) == expected


def test_a_non_ascii_authorization_is_a_401_not_a_500(settings: Settings, runtime: Runtime) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    with TestClient(create_app(guarded, runtime), base_url=PUBLIC_URL, client=ELSEWHERE) as http:
        response = http.get("/metrics", headers=[(b"authorization", "Bearer tökén".encode())])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_refusal_says_what_to_do_and_shows_no_figure(settings: Settings, runtime: Runtime) -> None:
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL, client=ELSEWHERE) as http:
        response = http.get("/metrics")
    assert response.status_code == 403
    assert "CAMPAIGN_METRICS_TOKEN" in response.json()["error"]["message"]
    assert "campaign_" not in response.text


def test_healthz_details_go_to_the_token_holder(settings: Settings, runtime: Runtime) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    with TestClient(create_app(guarded, runtime), base_url=PUBLIC_URL, client=ELSEWHERE) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        detailed = http.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert detailed.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
        "unsigned_providers": [],
    }


@pytest.mark.parametrize("token", ["short", "a" * 23, "a" * 20 + " spaced", "ä" * 30])
def test_a_weak_or_odd_metrics_token_is_a_clear_configuration_error(settings: Settings, token: str) -> None:
    with pytest.raises(ConfigurationError, match=r"CAMPAIGN_METRICS_TOKEN: .* at least 24"):
        Settings.load(data_dir=settings.data_dir, secret_key="k", metrics_token=token, _env_file=None)
