"""Who a request is from: the one rule for the client's address, for the ingest and the dashboard.

The client is the address that connected, unless that address is a reverse proxy listed in
``CAMPAIGN_TRUSTED_PROXIES``: then it is the last address in ``X-Forwarded-For`` that is not
one of those proxies (each proxy appends the address it saw, so everything left of that is
what the client itself wrote, and is ignored).  A direct client's ``X-Forwarded-For`` is never
read, so no client can choose its own address.

An unknown address is an error, never a bucket shared by everybody: a connection without an
address (a Unix socket), a trusted proxy that names no client, or one whose header is not an
address.  The rate limits, the stream caps, the login throttle and the audit log all take the
client from here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from campaign.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS = 32  # X-Forwarded-For entries read, from the right
MAX_KNOWN = 100_000  # parsed address texts remembered before the memo starts afresh


class UnknownClient(BadRequest):
    """The request's client address cannot be told: refused, never counted as anybody's."""

    code = "unknown_client"


def parse_address(text: str) -> IPAddress | None:
    """An address as text (IPv4-mapped IPv6 as IPv4), or None when it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def forwarded_hops(values: Iterable[str]) -> list[str]:
    """The entries of one or more ``X-Forwarded-For`` header values, in order, the last few."""
    hops: list[str] = []
    for value in values:
        hops += [hop.strip() for hop in value.split(",") if hop.strip()]
    return hops[-MAX_HOPS:]


class TrustedProxies:
    """The rule, for one list of trusted proxies; parsed address texts are remembered.

    Providers and proxies call from a few addresses, and parsing one costs more than the rest
    of a rate-limit check, so each text seen is parsed once (up to ``MAX_KNOWN`` of them).
    """

    def __init__(self, trusted: Iterable[str]):
        self.networks = parse_networks(trusted)
        self._known: dict[str, tuple[str | None, bool]] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def _read(self, text: str) -> tuple[str | None, bool]:
        """(the address in its usual form, or None when the text is not one; whether it is a proxy)."""
        known = self._known.get(text)
        if known is None:
            address = parse_address(text)
            trusted = address is not None and any(address in network for network in self.networks)
            known = (str(address) if address is not None else None, trusted)
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()
            self._known[text] = known
        return known

    def trusts(self, text: str) -> bool:
        return self._read(text)[1]

    def client(self, peer: str | None, forwarded: Sequence[str] = ()) -> str:
        """The client's address, from the connecting ``peer`` and the ``X-Forwarded-For`` values.

        Raises ``UnknownClient`` (a 400) when it cannot be told.  A peer that is not an IP
        address but has a name (a test client) is taken as it is: the server named it, not
        the client.
        """
        if not peer:
            raise UnknownClient("the connection has no client address; serve the ingest over TCP")
        address, trusted = self._read(peer)
        if address is None:
            return peer[:64]
        if not trusted:
            return address
        hops = forwarded_hops(forwarded)
        if not hops:
            raise UnknownClient(
                f"the proxy at {address} named no client (no X-Forwarded-For);"
                " it must set X-Forwarded-For to the address it saw"
            )
        for hop in reversed(hops):
            hop_address, hop_trusted = self._read(hop)
            if hop_address is None:
                raise UnknownClient(
                    f"X-Forwarded-For from the proxy at {address} is not an address: {hop[:64]!r}"
                )
            if not hop_trusted:
                return hop_address
        # Every hop is a proxy of ours: the request came from inside, from the leftmost one.
        leftmost = self._read(hops[0])[0]
        assert leftmost is not None
        return leftmost
