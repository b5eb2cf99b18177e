"""The dashboard's client address, through Streamlit's real server: the system's one rule.

AppTest has no connection (no peer, no headers), so these start ``python -m dashboard.serve``
(what ``campaign dashboard`` runs) on a small page that writes ``guard.client()`` to a file,
and open its WebSocket the way a browser does, with a forged or a proxy's X-Forwarded-For.
Streamlit's uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so before the fix a
browser on this machine (or behind a proxy nobody listed) chose its own login-throttle key
and its own ``client`` in the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import streamlit as st
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg

from campaign import audit
from campaign.access import throttle, users
from campaign.runtime import Runtime
from campaign.settings import Settings, get_settings
from dashboard import guard
from tests.conftest import ROOT, backend_env, free_port
from tests.dashboard.test_access_pages import PASSWORD, app, log_in_form, open_path

PAGE = """
from pathlib import Path

from dashboard import guard

# Written whole, then renamed: the test sees the file only with its answer in it.
written = Path({out!r} + ".part")
written.write_text(guard.client() or "(unknown)")
written.replace({out!r})
"""


@contextlib.contextmanager
def dashboard_on(settings: Settings, tmp_path: Path, trusted: str) -> Iterator[tuple[int, Path]]:
    out = tmp_path / "client.txt"
    page = tmp_path / "page.py"
    page.write_text(PAGE.format(out=str(out)))
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CAMPAIGN_") and k != "FORWARDED_ALLOW_IPS"
        },
        **backend_env(settings),
        "CAMPAIGN_TRUSTED_PROXIES": trusted,
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "dashboard.serve",
        "run",
        str(page),
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
    ]
    log = (tmp_path / "dashboard.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "dashboard.log"
            ).read_text()
            time.sleep(0.3)
        yield port, out
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def client_seen(port: int, out: Path, forwarded: str | None) -> str:
    """Open a session as a browser does (with this X-Forwarded-For), run the page, read its answer."""
    out.unlink(missing_ok=True)

    async def visit() -> None:
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], additional_headers=headers
        ) as socket:
            message = BackMsg()
            message.rerun_script.query_string = ""
            message.rerun_script.page_script_hash = ""
            await socket.send(message.SerializeToString())
            deadline = time.monotonic() + 30
            while not out.exists() and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(socket.recv(), 0.2)

    asyncio.run(visit())
    assert out.exists(), "the page did not run"
    return out.read_text()


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_browser_on_this_machine_cannot_choose_its_address(settings: Settings, tmp_path: Path) -> None:
    with dashboard_on(settings, tmp_path, trusted="") as (port, out):
        assert client_seen(port, out, None) == "127.0.0.1"
        assert client_seen(port, out, "6.6.6.6") == "127.0.0.1"  # was 6.6.6.6: a key of its choosing


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_behind_a_trusted_proxy_its_header_names_the_client(settings: Settings, tmp_path: Path) -> None:
    with dashboard_on(settings, tmp_path, trusted="127.0.0.1") as (port, out):
        assert client_seen(port, out, "198.51.100.4") == "198.51.100.4"
        assert client_seen(port, out, "6.6.6.6, 198.51.100.4") == "198.51.100.4"
        assert client_seen(port, out, None) == "(unknown)"  # refused at login, not "loopback" for all


def test_a_login_whose_address_is_unknown_is_refused_and_says_so(
    dashboard_env: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a trusted proxy that names nobody, no login is checked or counted in a shared bucket."""
    monkeypatch.setenv("CAMPAIGN_TRUSTED_PROXIES", "127.0.0.1")  # AppTest's peer is this machine
    get_settings.cache_clear()
    st.cache_resource.clear()
    users.add(runtime.engine, "amina", "staff", PASSWORD, actor="test")
    at = log_in_form(open_path(app(), "map"), "amina", PASSWORD)
    assert guard.USER not in at.session_state
    (message,) = [e.value for e in at.error]
    assert "address is unknown" in message
    assert throttle.failures(runtime.engine, throttle.client_key("")) == 0
    assert audit.search(runtime.engine, actions=["login", "login.failed"]) == []
