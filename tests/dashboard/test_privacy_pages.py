"""No dashboard page shows a full number: every page, every element, after signed webhooks."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.campaign.supporters.test_privacy import forms_of
from tests.conftest import ROOT, post_twilio, twilio_form
from tests.dashboard.conftest import sign_in

APP = str(ROOT / "dashboard" / "app.py")
SENDERS = ["+31612345678", "+32470123456", "+254712345678"]


def rendered(node: Any) -> str:
    """Everything an element tree would send to the browser, as text."""
    text = str(getattr(node, "proto", "") or "")
    children = getattr(node, "children", {}) or {}
    return text + "".join(rendered(child) for child in children.values())


@pytest.mark.usefixtures("hassan", "kenya")
@pytest.mark.parametrize("page", sorted(p.name for p in (ROOT / "dashboard" / "pages").glob("*.py")))
def test_no_page_shows_a_full_number(
    page: str, dashboard_env: Settings, client: TestClient, runtime: Runtime
) -> None:
    for i, sender in enumerate(SENDERS):
        assert post_twilio(client, twilio_form(f"SMm{i}", sender, "JA")).status_code == 200
        assert post_twilio(client, twilio_form(f"SMn{i}", sender, "something unusual")).status_code == 200
    post_twilio(client, twilio_form("SMk", SENDERS[0], "JA KENYA"))
    runtime.live.refresh(runtime.engine, runtime.vault)
    at = AppTest.from_file(APP, default_timeout=30)
    if page != "login.py":  # the login form is what a visitor who is not logged in sees
        sign_in(at, "admin")  # sees every page
    at.query_params["appeal"] = "hassan"
    at.run()
    if page != "login.py":
        at.switch_page(f"pages/{page}")
        at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    shown = rendered(at._tree)
    assert shown, "the page rendered something"
    for sender in SENDERS:
        for written in forms_of(sender):
            assert written not in shown, f"{written} on {page}"
    if page == "live.py":
        assert "+31 6 ••• ••• 78" in shown, "the ticker shows numbers masked"
