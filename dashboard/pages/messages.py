"""Messages: the texts to supporters, for campaign leads.

The outbox by kind and status, each lane's backlog (replies go before bulk texts), texts sent
per minute, failures with their reasons, texts in doubt with a resend, opt-outs per day; and
the two sending flows (an alert, an outcome message), each with a preview, the
number of recipients, a confirmation and its progress.  Numbers appear masked only.
"""

from __future__ import annotations

import streamlit as st

from dashboard import blocks, data, nav, send_forms, style, tables
from dashboard.charts import messages as message_charts
from dashboard.charts.common import STAFF_CONFIG

p = style.DARK
st.html(style.staff_css(p))
nav.staff_links()
tz = data.timezone()

# Data: the outbox (SQL, 5 s).
read = data.outbox()
statuses = read.statuses
waiting = int(statuses.loc[statuses["status"].isin(["queued", "sending"]), "texts"].sum())
sent = int(statuses.loc[statuses["status"].isin(["sent", "delivered"]), "texts"].sum())
failed = int(statuses.loc[statuses["status"] == "failed", "texts"].sum())
segments_sent = int(statuses.loc[statuses["status"].isin(["sent", "delivered"]), "segments"].sum())
last_minutes = int(read.rate["sent"].iloc[-2:].sum()) if len(read.rate) else 0

# Charts.
st.html(blocks.staff_heading("Messages", "texts to supporters: alerts, thank-yous, outcome messages"))
st.html(blocks.outbox_headline(waiting, sent, failed, last_minutes, segments_sent))
left, middle, right = st.columns(3)
with left.container(key="panel-outbox"):
    st.plotly_chart(
        message_charts.outbox_chart(statuses, p), key="chart-outbox", theme=None, config=STAFF_CONFIG
    )
with middle.container(key="panel-rate"):
    st.plotly_chart(
        message_charts.send_rate_chart(read.rate, p, tz),
        key="chart-rate",
        theme=None,
        config=STAFF_CONFIG,
    )
with right.container(key="panel-opt-outs"):
    st.plotly_chart(
        message_charts.opt_outs_chart(read.opt_outs, p),
        key="chart-opt-outs",
        theme=None,
        config=STAFF_CONFIG,
    )

st.html(blocks.panel_heading("Lanes: replies go before alerts and outcome messages"))
st.dataframe(
    tables.lanes(read.lanes),
    hide_index=True,
    width="stretch",
    column_config={
        "lane": st.column_config.TextColumn("Lane", width="large"),
        "due": st.column_config.NumberColumn("Due now", format="%d"),
        "late": st.column_config.NumberColumn("Oldest late by (s)", format="%d"),
    },
    key="table-lanes",
)

st.html(blocks.panel_heading("Failures"))
reasons, latest = st.columns([2, 3])
reasons.dataframe(
    read.reasons,
    hide_index=True,
    width="stretch",
    column_config={"reason": st.column_config.TextColumn("Reason", width="large"), "texts": "Texts"},
    key="table-reasons",
)
latest.dataframe(
    read.failures.assign(
        at=read.failures["at"].dt.tz_convert(tz) if len(read.failures) else read.failures["at"]
    ),
    hide_index=True,
    width="stretch",
    column_config={
        "at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
        "kind": "Kind",
        "appeal": "Appeal",
        "to": "To",
        "attempts": "Tries",
        "reason": st.column_config.TextColumn("Reason", width="large"),
    },
    key="table-failures",
)

if len(read.in_doubt):
    st.html(blocks.panel_heading(f"In doubt: {len(read.in_doubt):,} texts"))
    st.caption(
        "A sender stopped while it held these texts: each may or may not have reached its supporter. "
        "They are not resent by themselves (a double alert is worse than a missing one)."
    )
    st.dataframe(
        read.in_doubt.assign(
            since=read.in_doubt["since"].dt.tz_convert(tz) if len(read.in_doubt) else read.in_doubt["since"]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "id": st.column_config.NumberColumn("No.", format="#%d"),
            "since": st.column_config.DatetimeColumn("Held since", format="YYYY-MM-DD HH:mm"),
            "kind": "Kind",
            "appeal": "Appeal",
            "to": "To",
            "text": st.column_config.TextColumn("Text", width="large"),
        },
        key="table-in-doubt",
    )
    send_forms.in_doubt_flow(read.in_doubt)

appeals = data.appeal_list()
with st.expander(
    "Send an alert",
    icon=":material/campaign:",
    expanded=bool({"alert-plan", "alert-batch"} & set(st.session_state)),
):
    send_forms.alert_flow(appeals)
with st.expander(
    "Send an outcome message",
    icon=":material/gavel:",
    expanded=bool({"outcome-message-plan", "outcome-message-batch"} & set(st.session_state)),
):
    send_forms.outcome_flow(appeals)
