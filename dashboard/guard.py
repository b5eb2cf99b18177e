"""Who is looking at the dashboard, and what they may see.

A visitor is a logged-in user (session state, set by the login page or resumed from the
session cookie, ``campaign.access.sessions``), a screen (a ``?token=`` link, no login), or
nobody, who sees the login form and nothing else.  A login lasts ``CAMPAIGN_SESSION_HOURS``
across reloads, tabs and shared links: each new Streamlit session reads the signed cookie
(``st.context.cookies``) and resumes the user while the session record holds.  The
role-to-page table is ``campaign.access.roles.PAGES``; this module only applies it.

A session keeps the user's session stamp from when it logged in (``campaign.access.users``);
each full run reads the user afresh and ends the session (audited) when the user is gone or
the stamp changed: a password reset, a role change, a new single sign-on identity; or when
the login's session record is gone (logged out in another tab) or expired.  The
screens' once-a-second fragments call ``recheck()`` (cached 3 s), so a removed user or a
revoked screen loses even an untouched wall screen within seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st

from campaign import audit
from campaign.access import roles as access
from campaign.access import sessions
from campaign.access.clients import UnknownClient
from campaign.access.screens import Screen
from campaign.access.users import UserInfo
from dashboard import cookies, data

log = logging.getLogger("campaign.dashboard")

USER = "access:user"  # the logged-in user's name
ROLE = "access:role"  # their role when last checked
STAMP = "access:stamp"  # the user's session stamp when this session logged in
SESSION = "access:session"  # this login's session token (its cookie's content), for logging out
COOKIE_HANDOFF = "access:cookie-handoff"  # a one-time code for the page to collect its cookie with
SSO_CHECKED = "access:sso"  # the identity (issuer, subject) already matched or refused this session
LOOPBACK, LOOPBACK_V6 = "127.0.0.1", "::1"


@dataclass(frozen=True)
class Visitor:
    name: str
    role: str
    screen: Screen | None = None

    def may_see(self, url_path: str) -> bool:
        if self.screen is not None:
            return url_path in self.screen.pages
        return access.may_see(self.role, url_path)


def visitor() -> Visitor | None:
    """Who this session is, checked against the database now; None means the login form."""
    token = st.query_params.get("token")
    if token:
        screen = data.screen(token)
        return Visitor(f"screen:{screen.name}", "viewer", screen) if screen is not None else None
    name = st.session_state.get(USER)
    if name is None:
        name = _resume()
    if name is None:
        return None
    user = data.user(name, fresh=True)
    if user is None or user.session_stamp != st.session_state.get(STAMP):
        _end_session(name, "user removed" if user is None else "password, role or identity changed")
        return None
    token = st.session_state.get(SESSION)
    if token and not data.session_holds(token, fresh=True):
        _end_session(name, "logged out elsewhere or expired")
        return None
    st.session_state[ROLE] = user.role
    return Visitor(user.name, user.role)


def _resume() -> str | None:
    """The user of the session cookie this browser sent, if it still holds; their name."""
    cookie = st.context.cookies.get(sessions.COOKIE)
    token = sessions.unsign(cookie, data.secret_key()) if isinstance(cookie, str) else None
    if token is None:
        return None
    resumed = sessions.resume(data.engine(), token)
    if resumed.user is None:
        return None
    st.session_state[USER] = resumed.user.name
    st.session_state[STAMP] = resumed.user.session_stamp
    st.session_state[SESSION] = token
    return resumed.user.name


def _end_session(name: str, reason: str) -> None:
    """Back to the login form: this session's user lost it since logging in."""
    token = st.session_state.get(SESSION)
    if token:
        sessions.end(data.engine(), token)
    log_out()
    audit.record(data.engine(), "system", "session.ended", name, {"reason": reason})


def actor() -> str:
    """The name the audit log records for what this session does."""
    return str(st.session_state.get(USER) or "dashboard")


def log_in(user: UserInfo, client: str = "") -> None:
    """This session is the user's; the session record and its cookie make it last.

    The cookie is handed over at the next run (``deliver_cookie``): the login page reruns
    straight after this.
    """
    settings = data.settings()
    token = sessions.start(data.engine(), user, hours=settings.session_hours, client=client)
    st.session_state[USER] = user.name
    st.session_state[STAMP] = user.session_stamp
    st.session_state[SESSION] = token
    st.session_state[COOKIE_HANDOFF] = cookies.offer(
        sessions.sign(token, data.secret_key()),
        max_age=int(settings.session_hours * 3600),
        secure=settings.resolved_dashboard_url.startswith("https://"),
    )


def deliver_cookie() -> None:
    """Right after a login: the page fetches its session cookie with the one-time code.

    The slot is there on every run, filled or not, so the page's own elements keep their
    places (Streamlit knows them by position: an expander that moved would close).
    """
    slot = st.empty()
    code = st.session_state.pop(COOKIE_HANDOFF, None)
    if code:
        with slot:
            st.html(cookies.script(code), unsafe_allow_javascript=True)


def log_out() -> None:
    """Forget the user in this session (the caller ends the session record, if it should)."""
    for key in (USER, STAMP, ROLE, SSO_CHECKED, SESSION, COOKIE_HANDOFF):
        st.session_state.pop(key, None)


def end_login() -> None:
    """Log out everywhere this login reached: the session record goes, so every tab's cookie is void."""
    token = st.session_state.get(SESSION)
    if token:
        sessions.end(data.engine(), token)
    log_out()


def pinned(query: dict[str, list[str]], page: str = "") -> dict[str, list[str]]:
    """A screen's URL parameters with its token's selection in force: a token shows its screen only.

    A rotating screen's token shows ``page`` with the scope of its playlist's entry at
    ``?slot=`` (the rotation's frames say which), or of the page's first entry.
    """
    token = st.query_params.get("token")
    screen = data.screen(token) if token else None
    if screen is None:
        return query
    chosen = {name: values for name, values in query.items() if name not in ("appeal", "campaign")}
    playlist = screen.playlist
    if playlist is not None:
        entry = playlist.entry(page, st.query_params.get("slot"))
        # A page outside the playlist never runs (the navigation leaves it out); nothing matches nothing.
        scope = entry.query() if entry is not None else {"appeal": "-"}
        return chosen | {name: [value] for name, value in scope.items()}
    return chosen | {name: [value] for name, value in screen.query().items()}


def recheck() -> None:
    """In a screen's update loop: start over (to the login form) once its access is gone."""
    token = st.query_params.get("token")
    if token:
        if data.screen(token) is None:
            st.rerun(scope="app")
    elif USER in st.session_state:
        user = data.user(st.session_state[USER])
        token = st.session_state.get(SESSION)
        if user is None or user.session_stamp != st.session_state.get(STAMP):
            st.rerun(scope="app")  # the full run ends the session
        elif token and not data.session_holds(token):
            st.rerun(scope="app")


def client() -> str:
    """The address failed logins are counted against and the audit log records; "" if unknown.

    The one rule of ``campaign.access.clients`` over Streamlit's view of the connection: its
    uvicorn trusts no forwarded header (``dashboard.serve`` turns that off), so
    ``st.context.ip_address`` is the connecting address, and ``X-Forwarded-For`` is read
    here only from a trusted proxy.  An unknown address is "", which the login refuses
    (``campaign.access.users.authenticate``) instead of counting it in a shared bucket.
    """
    proxies = data.trusted_proxies()
    peer = st.context.ip_address
    if not isinstance(peer, str) or not peer:
        # Streamlit answers None for this machine (127.0.0.1 and ::1 alike); AppTest has no peer.
        peer = LOOPBACK_V6 if proxies.trusts(LOOPBACK_V6) and not proxies.trusts(LOOPBACK) else LOOPBACK
    given = st.context.headers.get_all("X-Forwarded-For")
    forwarded = [value for value in given if isinstance(value, str)] if isinstance(given, list) else []
    try:
        return proxies.client(peer, forwarded)
    except UnknownClient as unknown:
        log.warning("a dashboard login from an unknown address: %s", unknown.message)
        return ""
