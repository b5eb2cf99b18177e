"""The dashboard's entry point: page setup and navigation, nothing else.

Run it with ``campaign dashboard`` (which brings the Streamlit configuration along);
each page lives in ``pages/`` and is reached by its URL path, so a wall screen or a
broadcast browser source is set up by its address alone, e.g. ``/live?appeal=hassan``
or ``/on-air?campaign=torture&theme=green``; the staff pages (``/map``, ``/outcomes``)
keep their filters in the URL the same way.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

PAGES = Path(__file__).resolve().parent / "pages"


def navigation() -> StreamlitPage:
    """The pages, grouped by who looks at them; ``live`` opens when no page is named."""
    # Streamlit serves the default page at "/" only; a hidden copy of Live takes "/" so that
    # "/live" itself stays a working address for wall screens.
    home = st.Page(
        PAGES / "live.py", title="Live", icon="📈", url_path="home", default=True, visibility="hidden"
    )
    screens = [
        st.Page(PAGES / "live.py", title="Live", icon="📈", url_path="live"),
        st.Page(PAGES / "on_air.py", title="On air", icon="📺", url_path="on-air"),
    ]
    staff = [
        st.Page(PAGES / "map.py", title="Map", icon=":material/map:", url_path="map"),
        st.Page(PAGES / "outcomes.py", title="Outcomes", icon=":material/gavel:", url_path="outcomes"),
    ]
    leads = [st.Page(PAGES / "messages.py", title="Messages", icon=":material/sms:", url_path="messages")]
    return st.navigation({"": [home], "Screens": screens, "Staff": staff, "Leads": leads}, position="top")


def main() -> None:
    st.set_page_config(
        page_title="Campaign room",
        page_icon="📣",
        layout="wide",
        initial_sidebar_state="collapsed",
        menu_items={},
    )
    navigation().run()


main()
