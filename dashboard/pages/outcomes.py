"""Outcomes: what the appeals achieved, to answer "what worked?", for staff on a laptop.

The share of appeals with a good outcome, by outcome, by country of concern and by
campaign; how long outcomes took and when they came; the open appeals waiting longest;
and a form to record an outcome.  ``/outcomes?campaign=torture`` shares a campaign's view.
Each appeal counts once, with its latest outcome.
"""

from __future__ import annotations

import streamlit as st

from campaign.appeals import outcomes
from dashboard import blocks, data, forms, guard, nav, session, style, tables
from dashboard.charts import staff as staff_charts
from dashboard.charts.common import STAFF_CONFIG
from dashboard.params import outcomes_params

p = style.DARK
st.html(style.staff_css(p))
nav.staff_links()
tz = data.timezone()
params = outcomes_params(session.query())
names = data.campaigns()

# Widgets: the campaign, kept in the URL.
heading, choice = st.columns([3, 1], vertical_alignment="bottom")
title = heading.empty()
options: list[str | None] = [None, *names]
campaign = choice.selectbox(
    "Campaign",
    options,
    index=options.index(params.campaign) if params.campaign in options else 0,
    format_func=lambda slug: "All campaigns" if slug is None else names.get(slug, slug),
    key="outcomes-campaign",
)
session.share({"campaign": campaign})

# Data: one row per appeal with its latest outcome (SQL, 30 s).
table = data.outcome_table(campaign)
decided = tables.decided(table)
share = outcomes.good_share(table)
by_country = tables.shares(table, "country", tables.country_names(table))
by_campaign = tables.shares(table, "campaign", names)
timeline = tables.timeline(table, tz)
waiting = tables.waiting(outcomes.waiting_longest(table, limit=12), tz, names)

# Charts.
title.html(
    blocks.staff_heading(
        "Outcomes",
        (names.get(campaign, campaign) if campaign else "All campaigns") + " · what the appeals achieved",
    )
)
st.html(
    blocks.outcome_headline(
        share if isinstance(share, float) else None,
        decided=len(decided),
        good=int(decided["good"].astype(bool).sum()),
        appeals=len(table),
        waiting=tables.waiting_count(table),
    )
)
kinds, countries, campaigns = st.columns(3)
with kinds.container(key="panel-kinds"):
    st.plotly_chart(
        staff_charts.outcome_kind_chart(tables.outcome_kinds(table), p),
        key="chart-kinds",
        theme=None,
        config=STAFF_CONFIG,
    )
with countries.container(key="panel-countries"):
    st.plotly_chart(
        staff_charts.good_share_chart(
            by_country,
            p,
            title="Good outcomes by country of concern",
        ),
        key="chart-countries",
        theme=None,
        config=STAFF_CONFIG,
    )
with campaigns.container(key="panel-campaigns"):
    st.plotly_chart(
        staff_charts.good_share_chart(by_campaign, p, title="Good outcomes by campaign"),
        key="chart-campaigns",
        theme=None,
        config=STAFF_CONFIG,
    )
days, when = st.columns([2, 3])
with days.container(key="panel-days"):
    st.plotly_chart(
        staff_charts.days_to_outcome_chart(timeline, p), key="chart-days", theme=None, config=STAFF_CONFIG
    )
with when.container(key="panel-timeline"):
    st.plotly_chart(
        staff_charts.outcome_timeline_chart(timeline, p),
        key="chart-timeline",
        theme=None,
        config=STAFF_CONFIG,
    )
st.html(blocks.panel_heading("Waiting longest for an outcome"))
st.dataframe(
    waiting,
    hide_index=True,
    width="stretch",
    column_config={
        "appeal": st.column_config.TextColumn("Appeal"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "campaign": st.column_config.TextColumn("Campaign"),
        "country": st.column_config.TextColumn("Country"),
        "opened": st.column_config.DateColumn("Opened", format="YYYY-MM-DD"),
        "days": st.column_config.ProgressColumn(
            "Days waiting", format="%d days", min_value=0, max_value=max([365, *waiting["days"]])
        ),
    },
    key="table-waiting",
)
forms.flash()
with st.expander("Record an outcome", icon=":material/edit:"):
    forms.outcome_form(data.appeal_list(), tz)
    visitor = guard.visitor()
    if visitor is not None and visitor.may_see("messages"):  # leads tell the signers
        st.page_link(
            "pages/messages.py",
            label="Then tell the signers: Messages → Send an outcome message",
            icon=":material/sms:",
        )
