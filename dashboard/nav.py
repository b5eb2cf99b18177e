"""The staff pages' links to each other.

Icons are Material Symbols, which Streamlit serves itself: an emoji needs a font the
laptop may not have, and nothing may come from a CDN.

Streamlit's own navigation bar is switched off for the whole app
(``client.showSidebarNavigation = false``) because wall screens and on-air sources must
show nothing but their figures; staff pages put these links at their top instead.
"""

from __future__ import annotations

import streamlit as st

LINKS = (
    ("pages/live.py", "Live", ":material/monitoring:"),
    ("pages/on_air.py", "On air", ":material/live_tv:"),
    ("pages/map.py", "Map", ":material/map:"),
    ("pages/outcomes.py", "Outcomes", ":material/gavel:"),
    ("pages/messages.py", "Messages", ":material/sms:"),
)


def staff_links() -> None:
    """A row of links to every page; Streamlit marks the current one."""
    with st.container(horizontal=True, key="staff-nav", vertical_alignment="center", gap="medium"):
        for path, label, icon in LINKS:
            st.page_link(path, label=label, icon=icon)
