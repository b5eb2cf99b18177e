"""The ingest under a real uvicorn, with the options `campaign ingest` gives it: slow headers are
cut off, connections beyond the limit get a 503, event streams are capped per client, and the
client's address is the one rule's (uvicorn's own X-Forwarded-For reading is off)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from campaign.runtime import Runtime
from campaign.settings import Settings
from ingest.app import create_app
from ingest.serve import uvicorn_options
from tests.conftest import free_port

pytestmark = pytest.mark.usefixtures("hassan")

STREAM = "/api/v1/appeals/hassan/stream"


@contextlib.contextmanager
def serving(settings: Settings, runtime: Runtime, **listen: object) -> Iterator[uvicorn.Server]:
    """The app served by uvicorn in a thread, on a free port (or ``uds=``), until the block ends."""
    if "uds" not in listen:
        listen = {"host": "127.0.0.1", "port": free_port(), **listen}
    config = uvicorn.Config(create_app(settings, runtime), **listen, **uvicorn_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


def port_of(server: uvicorn.Server) -> int:
    return int(server.config.port)


def http_to(server: uvicorn.Server) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port_of(server)}")


def raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def closed_after(sock: socket.socket, within: float) -> float | None:
    """Seconds until the server closes ``sock`` (reads nothing but the end), or None if it did not."""
    start = time.monotonic()
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return time.monotonic() - start
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - start


def test_a_half_sent_header_is_closed_within_the_header_timeout(settings: Settings, runtime: Runtime) -> None:
    quick = settings.model_copy(update={"header_timeout": 1.0})
    with serving(quick, runtime) as server:
        slow = raw(port_of(server))
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: campaign.example.org\r\nX-Slow: ")  # and no more
        waited = closed_after(slow, within=6)
        assert waited is not None, "a half-sent header kept its connection open"
        assert waited < 4
        slow.close()

        # A byte now and then does not keep it open either: the clock runs from the start.
        drip = raw(port_of(server))
        start = time.monotonic()
        with contextlib.suppress(OSError):
            for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\n":
                drip.sendall(bytes([byte]))
                time.sleep(0.2)
        assert closed_after(drip, within=6) is not None
        assert time.monotonic() - start < 8
        drip.close()

        # A kept-alive connection's next request is held to the same clock.
        kept = raw(port_of(server))
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: campaign.example.org\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        assert closed_after(kept, within=6) is not None
        kept.close()

        # Whole requests are untouched.
        with httpx.Client(base_url=f"http://127.0.0.1:{port_of(server)}") as http:
            assert http.get("/healthz").status_code == 200


def test_connections_beyond_the_limit_get_a_503(settings: Settings, runtime: Runtime) -> None:
    limited = settings.model_copy(update={"ingest_concurrency": 3})
    with serving(limited, runtime) as server:
        idle = [raw(port_of(server)) for _ in range(3)]
        time.sleep(0.2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port_of(server)}") as http:
            refused = http.get("/healthz")
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "unavailable"  # the one error shape
            assert "too many connections" in refused.json()["error"]["message"]
            for sock in idle:
                sock.close()
            time.sleep(0.3)
            assert http.get("/healthz").status_code == 200


def open_stream(port: int, headers: str = "") -> tuple[socket.socket, bytes]:
    sock = raw(port)
    sock.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{headers}\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def test_event_streams_are_capped_per_client(settings: Settings, runtime: Runtime) -> None:
    capped = settings.model_copy(update={"streams_per_client": 2, "overlay_tokens": False})
    with serving(capped, runtime) as server:
        port = port_of(server)
        first, head = open_stream(port)
        assert head.startswith(b"HTTP/1.1 200")
        second, head = open_stream(port)
        assert head.startswith(b"HTTP/1.1 200")
        # Another address in X-Forwarded-For does not make a direct client someone else.
        third, head = open_stream(port, "X-Forwarded-For: 198.51.100.7\r\n")
        assert head.startswith(b"HTTP/1.1 429"), head
        body = head.split(b"\r\n\r\n", 1)[1] + third.recv(4096)
        assert b"too_many_streams" in body and b"CAMPAIGN_STREAMS_PER_CLIENT" in body
        third.close()

        first.close()  # a viewer leaves: its slot comes back
        deadline = time.monotonic() + 10
        while True:
            again, head = open_stream(port)
            if head.startswith(b"HTTP/1.1 200") or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.2)
        assert head.startswith(b"HTTP/1.1 200")
        again.close()
        second.close()


def test_uvicorn_does_not_let_a_direct_client_rotate_its_address(
    settings: Settings, runtime: Runtime
) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default; here it must believe nobody."""
    tight = settings.model_copy(
        update={"rate_limit_feeds": 1.0, "rate_limit_burst": 2.0, "overlay_tokens": False}
    )
    with (
        serving(tight, runtime) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{port_of(server)}") as http,
    ):
        codes = [
            http.get(
                "/api/v1/appeals/hassan/total.txt", headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ).status_code
            for n in range(4)
        ]
    assert codes == [200, 200, 429, 429]


def test_a_trusted_proxy_names_the_client(settings: Settings, runtime: Runtime) -> None:
    tight = settings.model_copy(
        update={
            "rate_limit_feeds": 1.0,
            "rate_limit_burst": 1.0,
            "overlay_tokens": False,
            "trusted_proxies": ("127.0.0.1",),
        }
    )
    with (
        serving(tight, runtime) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{port_of(server)}") as http,
    ):

        def get(client: str | None) -> httpx.Response:
            headers = {"X-Forwarded-For": client} if client else {}
            return http.get("/api/v1/appeals/hassan/total.txt", headers=headers)

        assert [get("198.51.100.1").status_code, get("198.51.100.1").status_code] == [200, 429]
        assert get("198.51.100.2").status_code == 200
        refused = get(None)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "unknown_client"


def test_a_connection_without_an_address_is_refused(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    """Over a Unix socket uvicorn knows no client address: a clear 400, not one shared bucket."""
    path = str(tmp_path / "ingest.sock")
    with (
        serving(settings.model_copy(update={"overlay_tokens": False}), runtime, uds=path),
        httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://ingest") as http,
    ):
        refused = http.get("/api/v1/appeals/hassan/total.txt")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "unknown_client"
        assert http.get("/healthz").status_code == 200  # nothing that needs the address is refused
