"""The dashboard's entry point: page setup and navigation, nothing else.

Run it with ``campaign dashboard`` (which brings the Streamlit configuration along);
each page lives in ``pages/`` and is reached by its URL path, so a wall screen or a
broadcast browser source is set up by its address alone, e.g. ``/live?appeal=hassan``
or ``/on-air?campaign=torture&theme=green``; the staff pages (``/map``, ``/outcomes``)
keep their filters in the URL the same way.

Every page but the login form needs a logged-in user whose role includes it, or a screen
link (``/on-air?token=...`` from ``campaign screen add``) for that one page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from campaign.access import roles as access
from dashboard import guard

PAGES = Path(__file__).resolve().parent / "pages"
SCREEN_PAGES = {"live": (PAGES / "live.py", "Live"), "on-air": (PAGES / "on_air.py", "On air")}


def navigation() -> StreamlitPage:
    """The pages this visitor may see, grouped by who looks at them; the login form for nobody.

    A page left out here does not exist for the visitor: its address opens the default
    page instead, so a forbidden page never runs.  Roles per page: ``campaign.access.roles.PAGES``.
    """
    visitor = guard.visitor()
    if visitor is None:
        # The login form answers at every page's address, so after logging in the same
        # address (a page is known by its url_path) opens the page that was asked for.
        login = [st.Page(PAGES / "login.py", title="Log in", url_path="login", default=True)]
        login += [st.Page(PAGES / "login.py", title="Log in", url_path=path) for path in access.PAGES]
        return st.navigation(login, position="hidden")
    if visitor.screen is not None:  # a screen link: its page (a rotating one's pages), no menu
        pages = [(path, SCREEN_PAGES[path]) for path in visitor.screen.pages if path in SCREEN_PAGES]
        return st.navigation(
            [st.Page(page, title=title, url_path=path) for path, (page, title) in pages], position="hidden"
        )
    # Streamlit serves the default page at "/": a person who logs in there gets the start
    # page with their navigation; "/live" stays the clean wall screen.
    home = st.Page(
        PAGES / "home.py",
        title="Home",
        icon=":material/home:",
        url_path="home",
        default=True,
        visibility="hidden",
    )
    logout = st.Page(PAGES / "logout.py", title="Log out", url_path="logout", visibility="hidden")
    screens = [
        st.Page(PAGES / "live.py", title="Live", icon="📈", url_path="live"),
        st.Page(PAGES / "on_air.py", title="On air", icon="📺", url_path="on-air"),
    ]
    staff = [
        st.Page(PAGES / "map.py", title="Map", icon=":material/map:", url_path="map"),
        st.Page(PAGES / "outcomes.py", title="Outcomes", icon=":material/gavel:", url_path="outcomes"),
        st.Page(PAGES / "history.py", title="History", icon=":material/history:", url_path="history"),
    ]
    leads = [
        st.Page(PAGES / "messages.py", title="Messages", icon=":material/sms:", url_path="messages"),
        st.Page(PAGES / "appeals.py", title="Appeals", icon=":material/outgoing_mail:", url_path="appeals"),
    ]
    admin = [
        st.Page(PAGES / "admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin"),
    ]
    groups = {"Screens": screens, "Staff": staff, "Leads": leads, "Admin": admin}
    shown = {name: [p for p in pages if visitor.may_see(p.url_path)] for name, pages in groups.items()}
    return st.navigation(
        {"": [home, logout], **{name: pages for name, pages in shown.items() if pages}}, position="top"
    )


def main() -> None:
    st.set_page_config(
        page_title="Campaign room",
        page_icon="📣",
        layout="wide",
        initial_sidebar_state="collapsed",
        menu_items={},
    )
    page = navigation()
    guard.deliver_cookie()
    page.run()


main()
