"""Serving N ingest processes on one socket: the socket keeps TCP_NODELAY on accepted connections."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvloop

from campaign.settings import Settings
from ingest.serve import listener
from tests.conftest import backend_env, free_port, twilio_form, twilio_signature
from tests.faults.servers import children_of, wait_for


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            got.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Probe, sock=sock)
    _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
    value = await asyncio.wait_for(got, 5)
    writer.close()
    server.close()
    return value


@pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_a_child_serving_the_inherited_socket_gets_tcp_nodelay(loop_factory: object) -> None:
    parent = listener("127.0.0.1", 0)
    assert parent.proto == socket.IPPROTO_TCP
    child = socket.socket(fileno=parent.detach())  # what `campaign ingest --fd` does
    assert (child.family, child.type, child.proto) == (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    with asyncio.Runner(loop_factory=loop_factory) as runner:  # type: ignore[arg-type]
        assert runner.run(_nodelay_of_accepted(child)) == 1


@pytest.mark.usefixtures("hassan")
def test_ingest_workers_share_one_port_and_a_dead_one_is_replaced(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")},
        **backend_env(settings),
        "CAMPAIGN_PUBLIC_URL": settings.public_url,
        "CAMPAIGN_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "CAMPAIGN_OVERLAY_TOKENS": "false",
    }
    argv = [
        sys.executable,
        "-m",
        "cli",
        "ingest",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-migrate",
    ]
    with open(tmp_path / "ingest.log", "wb") as log:
        supervisor = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    closed = False

    def healthy() -> bool:
        try:
            return httpx.get(url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(lambda: len(children_of(supervisor.pid)) == 2 and healthy(), 60, "two ingest processes")
        first = children_of(supervisor.pid)
        os.kill(first[0], signal.SIGKILL)
        wait_for(lambda: first[0] not in children_of(supervisor.pid), 10, "the dead one gone")
        wait_for(lambda: len(children_of(supervisor.pid)) == 2 and healthy(), 60, "a replacement")
        with httpx.Client(base_url=url) as http:
            for i in range(10):
                form = twilio_form(f"SMw{i}", f"+3165{i:07d}", "JA")
                response = http.post(
                    "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(form)}
                )
                assert response.status_code == 200

            def counted() -> int:
                return int(http.get("/api/v1/appeals/hassan").json()["signatures"])

            # normally at once; a batch spooled while the new process connected is counted
            # by its keeper a tick later
            deadline = time.monotonic() + 15
            while counted() != 10 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert counted() == 10, (tmp_path / "ingest.log").read_text()[-4000:]
        # An overlay viewer is watching when the service stops.
        with httpx.stream("GET", url + "/api/v1/appeals/hassan/stream", timeout=10) as viewer:
            lines = viewer.iter_lines()
            assert next(lines).startswith("retry:")
            supervisor.terminate()
            supervisor.wait(timeout=30)
            # The server closes the connection; a browser's EventSource reconnects after `retry`.
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                list(lines)
            closed = True
    finally:
        supervisor.terminate()
        supervisor.wait(timeout=30)
    assert children_of(supervisor.pid) == []
    log = (tmp_path / "ingest.log").read_text()
    assert "exited (-9); starting another" in log
    assert closed
    # Closed at once, not cancelled with a traceback when the grace period ran out.
    assert "graceful shutdown exceeded" not in log and "Traceback" not in log, log[-4000:]
