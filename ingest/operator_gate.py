"""Who may read what the operators read: ``/metrics`` and the details of ``/healthz``.

They show volumes, opt-outs and the outbox backlog, so they are not public.  With
``CAMPAIGN_METRICS_TOKEN`` set, a request must carry ``Authorization: Bearer <token>``
(Prometheus: ``authorization: {credentials_file: ...}``), wherever it comes from.  Without it,
only this machine connecting directly reads them: a loopback peer with no forwarding header
(``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``), since a reverse proxy on this machine
also connects from loopback, and says whom for in those headers.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request

from campaign.errors import Forbidden, Unauthorized

FORWARDING_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def operator(request: Request, token: str) -> bool:
    """Whether this request may read the operators' figures (see the module's docstring)."""
    if token:
        given = _bearer(request)
        return given is not None and hmac.compare_digest(given, token.encode())
    return direct_from_loopback(request)


def require(request: Request, token: str) -> None:
    """A 401 (with a token configured) or 403 (without) unless ``operator()``."""
    if operator(request, token):
        return
    if token:
        raise Unauthorized("send Authorization: Bearer <CAMPAIGN_METRICS_TOKEN>")
    raise Forbidden(
        "only this machine reads this, connecting directly; set CAMPAIGN_METRICS_TOKEN to read it elsewhere"
    )


def direct_from_loopback(request: Request) -> bool:
    """A loopback peer that forwards for nobody: this machine itself, not a proxy in front of us."""
    if any(name in FORWARDING_HEADERS for name, _ in request.scope.get("headers", [])):
        return False
    peer = request.scope.get("client")
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:  # a test client's name, say
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _bearer(request: Request) -> bytes | None:
    # Bytes, not text: a non-ASCII header must compare unequal, not raise.
    for name, value in request.scope.get("headers", []):
        if name == b"authorization":
            scheme, _, given = value.partition(b" ")
            return given.strip() if scheme.lower() == b"bearer" and given.strip() else None
    return None
