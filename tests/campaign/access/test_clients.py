"""The one rule for the client's address: forwarded headers only from trusted proxies, never none."""

from __future__ import annotations

import pytest

from campaign.access.clients import TrustedProxies, UnknownClient
from campaign.errors import ConfigurationError
from campaign.settings import Settings

PROXIES = TrustedProxies(["10.0.0.0/8", "127.0.0.1", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not a proxy of ours: its header is ignored
        ("127.0.0.1", [], None),  # a proxy of ours that names nobody: refused below
        ("10.0.0.2", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # the client may forge the left part
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # the header given twice
        ("10.0.0.2", ["198.51.100.1, 10.0.0.3"], "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", ["not-an-address, 198.51.100.1"], "198.51.100.1"),  # left of the client: ignored
        ("10.0.0.2", ["10.0.0.9"], "10.0.0.9"),  # from inside: the leftmost proxy of ours
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),  # a local proxy names the client
        ("::ffff:203.0.113.9", [], "203.0.113.9"),
        ("::1", ["2001:db8::1"], "2001:db8::1"),
        ("testclient", [], "testclient"),  # a name the server gave (Starlette's test client)
    ],
)
def test_the_client_behind_trusted_proxies(peer: str, forwarded: list[str], client: str | None) -> None:
    if client is None:
        with pytest.raises(UnknownClient):
            PROXIES.client(peer, forwarded)
    else:
        assert PROXIES.client(peer, forwarded) == client


@pytest.mark.parametrize(
    ("peer", "forwarded", "reason"),
    [
        (None, [], "no client address"),  # a Unix socket
        ("", [], "no client address"),
        ("10.0.0.2", [], "named no client"),
        ("10.0.0.2", [" , "], "named no client"),
        ("10.0.0.2", ["198.51.100.1, unknown"], "not an address"),  # garbled by a hop of ours
    ],
)
def test_an_unknown_client_is_refused_not_shared(peer: str | None, forwarded: list[str], reason: str) -> None:
    with pytest.raises(UnknownClient, match=reason) as refused:
        PROXIES.client(peer, forwarded)
    assert refused.value.status == 400
    assert refused.value.code == "unknown_client"


def test_by_default_no_proxy_is_trusted() -> None:
    settings = Settings.load(_env_file=None)
    assert settings.trusted_proxies == ()
    nobody = TrustedProxies(settings.trusted_proxies)
    assert nobody.client("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"
    assert nobody.client("10.0.0.2", ["198.51.100.1"]) == "10.0.0.2"


def test_settings_read_a_list_of_addresses_and_networks() -> None:
    settings = Settings.load(trusted_proxies="127.0.0.1, 10.0.0.0/8,::1", _env_file=None)
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    with pytest.raises(ConfigurationError, match="CAMPAIGN_TRUSTED_PROXIES"):
        Settings.load(trusted_proxies="10.0.0.0/8, proxy.example.org", _env_file=None)
