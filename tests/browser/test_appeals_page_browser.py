"""The Appeals page in Chromium, served by ``campaign dashboard``: a lead previews the
petition, downloads the PDF, confirms, and the local SMTP server receives one message per
recipient; nothing is fetched from outside."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from campaign.appeals import deliveries
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.browser.conftest import log_in
from tests.campaign.appeals.test_petition import import_history
from tests.conftest import Backend, backend_env, free_port
from tests.support.smtp import SmtpServer, running_smtp

pytestmark = pytest.mark.browser
EMAIL = "minister@justice.example.org"
FAX = "0031701234567@fax.example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def dashboard(settings: Settings, tmp_path: Path, backend: Backend, smtp: SmtpServer) -> Iterator[str]:
    """``campaign dashboard`` with the mail settings of the local SMTP server; stopped by its PID."""
    if backend.name != "embedded":
        pytest.skip("the page is the same on every backend; the embedded run covers it")
    port = free_port()
    env = {
        **os.environ,
        **backend_env(settings),
        "CAMPAIGN_TIMEZONE": "Europe/Amsterdam",
        **smtp.env(),
    }
    log = tmp_path / "dashboard.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dashboard", "--port", str(port)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.2)
        else:
            raise RuntimeError(log.read_text()[-2000:])
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_preview_download_and_deliver(
    runtime: Runtime,
    hassan: object,
    tmp_path: Path,
    smtp: SmtpServer,
    dashboard: str,
    visit: object,
    lead: str,
) -> None:
    import_history(runtime, tmp_path)
    appeals.edit_appeal(
        runtime.engine, "hassan", target_name="Minister of Justice", target_email=EMAIL, target_fax=FAX
    )
    shown = visit(dashboard + "/appeals?appeal=hassan", 1440, 1400)  # type: ignore[operator]
    page = shown.page
    log_in(page, lead)
    page.wait_for_selector(".sf-fig.hero .sf-v", timeout=45000)
    assert page.locator(".sf-fig.hero .sf-v").inner_text() == "6"

    with page.expect_download() as download:
        page.get_by_role("button", name="PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "6 people signed this appeal for Hassan" in text

    page.get_by_role("button", name="Deliver to the authority…").click()
    page.get_by_role("button", name="Confirm and send").wait_for(timeout=30000)
    shown.screenshot("appeals-confirm")
    assert smtp.received == []
    page.get_by_role("button", name="Confirm and send").click()
    page.get_by_text(f"Delivered 6 signatures to {EMAIL}, {FAX}").wait_for(timeout=30000)
    assert [r.rcpt_tos for r in smtp.received] == [[EMAIL], [FAX]]
    (record,) = deliveries.history(runtime.engine)
    assert record.status == "sent" and record.actor == lead
    page.wait_for_timeout(1000)
    shown.screenshot("appeals-delivered")
    assert shown.outside() == [], f"the page reached outside: {shown.outside()}"
