"""The staff pages' links to each other.

Icons are Material Symbols, which Streamlit serves itself: an emoji needs a font the
laptop may not have, and nothing may come from a CDN.

Streamlit's own navigation bar is switched off for the whole app
(``client.showSidebarNavigation = false``) because wall screens and on-air sources must
show nothing but their figures; staff pages put these links at their top instead.
"""

from __future__ import annotations

import streamlit as st

from dashboard import guard

# (file, url_path, label, icon); a link shows only to those whose role sees the page.
LINKS = (
    ("pages/home.py", "", "Home", ":material/home:"),
    ("pages/live.py", "live", "Live", ":material/monitoring:"),
    ("pages/on_air.py", "on-air", "On air", ":material/live_tv:"),
    ("pages/map.py", "map", "Map", ":material/map:"),
    ("pages/outcomes.py", "outcomes", "Outcomes", ":material/gavel:"),
    ("pages/history.py", "history", "History", ":material/history:"),
    ("pages/messages.py", "messages", "Messages", ":material/sms:"),
    ("pages/appeals.py", "appeals", "Appeals", ":material/outgoing_mail:"),
    ("pages/admin.py", "admin", "Admin", ":material/admin_panel_settings:"),
)


def staff_links() -> None:
    """A row of links to every page this user may see, and a way out; Streamlit marks the current one."""
    visitor = guard.visitor()
    with st.container(horizontal=True, key="staff-nav", vertical_alignment="center", gap="medium"):
        for path, url_path, label, icon in LINKS:
            if visitor is not None and visitor.screen is None and (not url_path or visitor.may_see(url_path)):
                st.page_link(path, label=label, icon=icon)
        if visitor is not None and visitor.screen is None:
            st.page_link("pages/logout.py", label=f"Log out {visitor.name}", icon=":material/logout:")
