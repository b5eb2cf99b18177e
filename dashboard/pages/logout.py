"""Log out: end this login (its session record, so every tab and reload too) and the single
sign-on session, if any; then the login form."""

from __future__ import annotations

import streamlit as st

from campaign import audit
from dashboard import data, guard

name = st.session_state.get(guard.USER)
if name:
    audit.record(data.engine(), name, "logout", name)
guard.end_login()
if st.user.get("is_logged_in"):  # only with single sign-on configured
    st.logout()
else:
    st.rerun()
