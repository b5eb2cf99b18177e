"""The dashboard as one ASGI app: Streamlit (``dashboard/app.py``) plus the session-cookie route.

``campaign dashboard`` runs ``streamlit run dashboard/asgi.py`` (through ``dashboard.serve``);
Streamlit finds ``app`` here and serves it with its own uvicorn, so the cookie route
(``dashboard.cookies``) shares the origin, the port and the proxy of the pages.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import cookies

app = st.App(Path(__file__).resolve().parent / "app.py", routes=cookies.routes())
