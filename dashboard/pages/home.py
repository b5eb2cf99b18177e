"""Home: where a logged-in user lands at ``/``: their pages, today's figures, appeals to look at.

Wall screens open ``/live`` (no links, nothing to click); a person who logs in at ``/``
gets this page instead, with the navigation for their role.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from campaign.errors import BadRequest
from campaign.history.filters import Filters
from dashboard import blocks, data, guard, nav, start, style

st.html(style.staff_css(style.DARK))
nav.staff_links()
visitor = guard.visitor()
tz = data.timezone()
today = datetime.now(tz).date()
name, role = (visitor.name, visitor.role) if visitor else ("", "")

with st.container(key="home"):
    st.html(blocks.home_heading(f"{name} · {role} · {today:%A %d %B %Y}"))

    if visitor is not None and visitor.may_see("history"):
        st.html(blocks.panel_heading("Today"))
        try:
            head = data.history_view(Filters(start=today, end=today)).headline
        except BadRequest as error:
            st.error(error.message, icon=":material/error:")
        else:
            signatures, members, social, demonstrations = st.columns(4)
            signatures.metric("Signatures", f"{head.signatures:,}")
            members.metric("SMS network members", f"{head.members:,}")
            social.metric("Social posts", f"{head.social:,}")
            demonstrations.metric("Demonstrations", f"{len(data.today(list(data.campaigns()), tz)):,}")
            st.markdown(f"[Today on History](/history?from={today.isoformat()}&to={today.isoformat()})")

    if visitor is not None and visitor.may_see("appeals"):
        appeals = data.appeal_list()
        waiting = start.needing_attention(appeals)
        open_count = sum(1 for a in appeals if a.status == "open")
        st.html(blocks.panel_heading(f"Appeals needing attention · {len(waiting)} of {open_count} open"))
        if not waiting:
            st.caption("Nothing waits: every open appeal can be signed and none has reached its goal.")
        for appeal, reason in waiting:
            st.markdown(f"**{appeal.title}** (`{appeal.slug}`): {reason}")

    st.html(blocks.panel_heading("Pages"))
    st.caption(
        "Live and On air are the wall-screen and broadcast views: open them on the screen itself, "
        "or give the screen a link of its own (Admin → Screens)."
    )
    for path, url_path, label, icon in nav.LINKS:
        if url_path and visitor is not None and visitor.may_see(url_path):
            st.page_link(path, label=label, icon=icon)
