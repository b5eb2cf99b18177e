"""Admin: users and roles, screen links, API tokens, the audit log, and the settings in force.

Every change here goes through the same core functions as the ``campaign user``,
``campaign screen`` and ``campaign token`` commands, and is audited under the admin's name.
Secrets are never shown: a token or screen link is shown once, when it is made.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url

from campaign import audit
from campaign.access import roles as access
from campaign.access import screens, tokens, users
from campaign.errors import CampaignError
from campaign.settings import Settings, get_settings
from dashboard import data, guard, nav, style

st.html(style.staff_css(style.DARK))
nav.staff_links()
engine = data.engine()
tz = data.timezone()
me = st.session_state.get(guard.USER, "?")
SECRET_WORDS = ("secret", "token", "key", "password")


def when(moment: datetime | None) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if moment else ""


def done(change: str) -> None:
    data.forget_access()
    st.success(change)


st.title("Admin")
users_tab, screens_tab, tokens_tab, audit_tab, settings_tab = st.tabs(
    ["Users", "Screens", "API tokens", "Audit log", "Settings"]
)

# -- users ------------------------------------------------------------------------------------
with users_tab:
    people = users.listing(engine)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "e-mail (SSO)": u.email or "",
                    "SSO identity": "bound" if u.sso_bound else "",
                    "password": "set" if u.has_password else "none",
                    "created": when(u.created_at),
                    "last login": when(u.last_login_at) or "never",
                }
                for u in people
            ]
        ),
        hide_index=True,
        key="users-table",
    )
    st.caption("Roles: " + ", ".join(f"**{r}** sees {', '.join(access.pages_for(r))}" for r in access.ROLES))
    add, change = st.columns(2)
    with add, st.form("user-add", clear_on_submit=True):
        st.subheader("Add a user")
        name = st.text_input("Name", key="user-add-name")
        role = st.selectbox("Role", access.ROLES, index=1, key="user-add-role")
        password = st.text_input(
            "Password (at least 10 characters)", type="password", key="user-add-password"
        )
        email = st.text_input("E-mail for single sign-on (optional)", key="user-add-email")
        if st.form_submit_button("Add user"):
            try:
                added = users.add(engine, name, role, password or None, email=email or None, actor=me)
            except CampaignError as error:
                st.error(error.message)
            else:
                done(f"Added {added.name} as {added.role}.")
    with change, st.form("user-change"):
        st.subheader("Change a user")
        who = st.selectbox("User", [u.name for u in people], key="user-change-name")
        new_role = st.selectbox("Role", ["(keep)", *access.ROLES], key="user-change-role")
        new_password = st.text_input("New password (optional)", type="password", key="user-change-password")
        remove = st.checkbox("Remove this user", key="user-change-remove")
        if st.form_submit_button("Apply") and who:
            try:
                if remove:
                    users.remove(engine, who, actor=me)
                    done(f"Removed {who}.")
                else:
                    if new_role != "(keep)":
                        users.set_role(engine, who, new_role, actor=me)
                    if new_password:
                        users.set_password(engine, who, new_password, actor=me)
                    if who == me:  # the user's other sessions end; this one, which did it, goes on
                        guard.log_in(users.get(engine, who))
                    done(f"Changed {who}.")
            except CampaignError as error:
                st.error(error.message)

# -- screens ----------------------------------------------------------------------------------
with screens_tab:
    settings = get_settings()
    shown = screens.listing(engine)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": s.name,
                    "page": s.page,
                    "shows": s.scope,
                    "created": when(s.created_at),
                    "last used": when(s.last_used_at) or "never",
                    "revoked": when(s.revoked_at),
                }
                for s in shown
            ]
        ),
        hide_index=True,
        key="screens-table",
    )
    add, revoke = st.columns(2)
    appeal_slugs = [a.slug for a in data.appeal_list()]
    with add, st.form("screen-add", clear_on_submit=True):
        st.subheader("Add a screen")
        name = st.text_input("Name, e.g. RTL studio 2", key="screen-add-name")
        page = st.selectbox("Page", screens.SCREEN_PAGES, key="screen-add-page")
        appeal = st.selectbox(
            "Appeal (needed for the overlay)", ["(all)", *appeal_slugs], key="screen-add-appeal"
        )
        campaign = st.selectbox("or campaign", ["(all)", *data.campaigns()], key="screen-add-campaign")
        if st.form_submit_button("Add screen"):
            try:
                token = screens.create(
                    engine,
                    name,
                    page=page,
                    appeal=None if appeal == "(all)" else appeal,
                    campaign=None if campaign == "(all)" else campaign,
                    actor=me,
                )
            except CampaignError as error:
                st.error(error.message)
            else:
                made = next(s for s in screens.listing(engine) if s.name == name.strip())
                done(f"Screen {made.name} made; its links are shown this once:")
                links = screens.urls(made, token, settings.resolved_dashboard_url, settings.public_url)
                st.code("\n".join(f"{what}: {url}" for what, url in links.items()), language=None)
    with revoke, st.form("screen-revoke"):
        st.subheader("Revoke a screen")
        active = [s.name for s in shown if s.revoked_at is None]
        chosen = st.selectbox("Screen", active, key="screen-revoke-name")
        if st.form_submit_button("Revoke") and chosen:
            try:
                screens.revoke(engine, chosen, actor=me)
            except CampaignError as error:
                st.error(error.message)
            else:
                done(f"Revoked {chosen}; its link stops working within seconds.")

# -- API tokens -------------------------------------------------------------------------------
with tokens_tab:
    st.markdown(
        "Tokens for machine clients of `POST /api/v1/events` (social events, demonstrations), "
        "sent as `Authorization: Bearer cmp_...`; also `campaign token add|list|revoke`."
    )
    known = tokens.listing(engine)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "name": t.name,
                    "created": when(t.created_at),
                    "last used": when(t.last_used_at) or "never",
                    "revoked": when(t.revoked_at),
                }
                for t in known
            ]
        ),
        hide_index=True,
        key="tokens-table",
    )
    add, revoke = st.columns(2)
    with add, st.form("token-add", clear_on_submit=True):
        name = st.text_input("Name of the client, e.g. website", key="token-add-name")
        if st.form_submit_button("Make token"):
            try:
                token = tokens.create(engine, name)
            except CampaignError as error:
                st.error(error.message)
            else:
                audit.record(engine, me, "token.add", name.strip())
                st.success("Token made; it is shown this once:")
                st.code(token, language=None)
    with revoke, st.form("token-revoke"):
        active = [t.name for t in known if t.revoked_at is None]
        chosen = st.selectbox("Token", active, key="token-revoke-name")
        if st.form_submit_button("Revoke token") and chosen:
            try:
                tokens.revoke(engine, chosen)
            except CampaignError as error:
                st.error(error.message)
            else:
                audit.record(engine, me, "token.revoke", chosen)
                st.success(f"Revoked {chosen}.")

# -- audit log --------------------------------------------------------------------------------
with audit_tab:
    left, middle, right = st.columns([2, 1, 2])
    picked = left.multiselect("Action", audit.actions(engine), key="audit-actions")
    actor = middle.text_input("Actor", key="audit-actor")
    today = datetime.now(tz).date()
    days = right.date_input("Dates", (today - timedelta(days=30), today), key="audit-dates")
    first, last = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)
    entries = audit.search(
        engine,
        actions=picked,
        actor=actor.strip(),
        since=datetime.combine(first, time(), tz) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), tz) if last else None,
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "at": f"{e.at.astimezone(tz):%Y-%m-%d %H:%M:%S}",
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "detail": ", ".join(f"{k}={v}" for k, v in e.detail.items()),
                }
                for e in entries
            ],
            columns=["at", "actor", "action", "subject", "detail"],
        ),
        hide_index=True,
        key="audit-table",
    )
    st.caption(f"{len(entries)} entries (at most 500, newest first), times in {tz}.")

# -- settings ---------------------------------------------------------------------------------
with settings_tab:
    current = get_settings()
    rows = []
    for field, info in Settings.model_fields.items():
        value = getattr(current, field)
        if any(word in field for word in SECRET_WORDS):
            value = "set" if value else "not set"
        elif field == "database_url" and value:
            value = make_url(value).render_as_string(hide_password=True)
        elif isinstance(value, tuple):
            value = ", ".join(map(str, value))
        rows.append(
            {"setting": f"CAMPAIGN_{field.upper()}", "value": str(value), "meaning": info.description}
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="settings-table")
    st.caption(
        "Secrets show only whether they are set. Change settings in the environment or .env, then restart."
    )
