"""Log in: the only page a visitor without a session or a screen link sees.

A name and password form, slowed after repeated failures (``campaign.access.throttle``); single
sign-on through Streamlit's ``st.login`` when ``.streamlit/secrets.toml`` has an
``[auth]`` section, for users whose e-mail an admin has added.
"""

from __future__ import annotations

import streamlit as st

from campaign.access import users
from campaign.access.users import LoginRefused
from campaign.settings import get_settings
from dashboard import data, guard, style

SSO_REFUSED = "access:sso-refused"  # why the identity provider's account was refused

st.html(style.staff_css(style.DARK))
engine = data.engine()
tz = data.timezone()


def single_sign_on_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


left, middle, right = st.columns([1, 2, 1])
with middle:
    st.title("Campaign room")
    if users.count(engine) == 0:
        st.info(
            "No users yet. `campaign up` makes an **admin** on its first run and prints the "
            "password (also in the data dir, admin-password.txt); or run "
            "`campaign user add NAME --role admin`."
        )
    if st.query_params.get("token"):
        st.error("This screen link is unknown or was revoked: ask an admin for a new one.")

    # Widgets: name and password, sent together.
    with st.form("login", enter_to_submit=True):
        name = st.text_input("User name", key="login-name", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="login-password", autocomplete="current-password"
        )
        sent = st.form_submit_button("Log in", type="primary")

    # Data: the attempt, counted and audited by the core.
    if sent:
        client = guard.client()
        try:
            user = users.authenticate(engine, name, password, client)
        except LoginRefused as refused:
            if refused.retry_at is not None:
                local = refused.retry_at.astimezone(tz)
                st.error(f"Too many failed attempts. Try again after {local:%H:%M:%S} ({tz}).", icon="⏳")
            elif not client:  # no typing error: the proxy did not say who this is
                st.error(refused.message, icon="⛔")
            else:
                st.error("Wrong user name or password.")
        else:
            guard.log_in(user, client)
            data.forget_access()
            st.rerun()

    if single_sign_on_configured():
        st.divider()
        if not st.user.is_logged_in:
            if st.button("Log in with single sign-on"):
                st.login()
        else:
            # The ID token's claims; the user is matched on issuer + subject, not the e-mail.
            claims = st.user.to_dict()
            identity = f"{claims.get('iss')}\n{claims.get('sub')}"
            if st.session_state.get(guard.SSO_CHECKED) != identity:
                st.session_state[guard.SSO_CHECKED] = identity
                try:
                    found = users.single_sign_on(
                        engine, claims, guard.client(), domains=get_settings().sso_domains
                    )
                except LoginRefused as refused:
                    st.session_state[SSO_REFUSED] = refused.message
                else:
                    st.session_state.pop(SSO_REFUSED, None)
                    guard.log_in(found, guard.client())
                    st.rerun()
            reason = st.session_state.get(SSO_REFUSED, "this account has no access here")
            st.error(f"Single sign-on refused: {reason}.")
            if st.button("Log out of single sign-on"):
                st.logout()
