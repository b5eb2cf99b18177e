"""The session-cookie route (dashboard.cookies) through a real Starlette app: the one-time
hand-off code gives the signed HttpOnly cookie once, and nothing else does."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard import cookies


def client(base_url: str = "http://127.0.0.1:8501") -> TestClient:
    return TestClient(Starlette(routes=cookies.routes()), base_url=base_url)


def test_a_hand_off_code_gives_the_cookie_once() -> None:
    code = cookies.offer("token.signature", max_age=3600, secure=False)
    with client() as http:
        answer = http.post(cookies.PATH, headers={cookies.HEADER: code})
        assert answer.status_code == 204
        set_cookie = answer.headers["set-cookie"]
        assert set_cookie.startswith("campaign_session=token.signature;")
        for part in ("HttpOnly", "Max-Age=3600", "Path=/", "SameSite=lax"):
            assert part in set_cookie
        assert "Secure" not in set_cookie, "plain http on 127.0.0.1"
        again = http.post(cookies.PATH, headers={cookies.HEADER: code})
    assert again.status_code == 403 and "log in again" in again.json()["error"]
    assert "set-cookie" not in again.headers


def test_no_cookie_without_a_valid_code_in_the_header() -> None:
    code = cookies.offer("token.signature", max_age=3600, secure=False)
    with client() as http:
        assert http.post(cookies.PATH).status_code == 403
        assert http.post(cookies.PATH, headers={cookies.HEADER: "guessed"}).status_code == 403
        assert http.post(cookies.PATH, data={"code": code}).status_code == 403, "a form cannot send it"
        assert http.get(cookies.PATH).status_code == 405


def test_the_cookie_is_secure_behind_https() -> None:
    by_setting = cookies.offer("a.b", max_age=60, secure=True)
    by_origin = cookies.offer("a.b", max_age=60, secure=False)
    with client() as http:
        assert "Secure" in http.post(cookies.PATH, headers={cookies.HEADER: by_setting}).headers["set-cookie"]
        answer = http.post(
            cookies.PATH, headers={cookies.HEADER: by_origin, "Origin": "https://screens.example.org"}
        )
        assert "Secure" in answer.headers["set-cookie"]


def test_a_code_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    code = cookies.offer("a.b", max_age=60, secure=False)
    later = cookies.time.monotonic() + cookies.LIFETIME + 1
    monkeypatch.setattr(cookies.time, "monotonic", lambda: later)
    with client() as http:
        assert http.post(cookies.PATH, headers={cookies.HEADER: code}).status_code == 403
