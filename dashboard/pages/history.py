"""History: filter three years of results to report on campaigns and answer "what worked?".

Filters for dates, campaign, appeal, channel, provider, country, platform and outcome,
all kept in the URL (``/history?campaign=torture&from=2008-01-01&channel=sms``) so a view
is shared by its address; headline figures; signatures over time with the TV moments and milestones
marked, by country on the offline map, by channel, members who joined, social activity
against signatures; the appeals with their totals and outcomes; and downloads of exactly
what is filtered, the filters written into each file.  Figures come from the rollups
(``campaign.history.queries``, ``campaign.history.rows``) through the 30-second caches of ``dashboard.data``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import streamlit as st

from campaign.appeals.outcomes import KINDS
from campaign.errors import BadRequest
from campaign.history.filters import OUTCOME_GROUPS, Filters
from dashboard import blocks, data, frames, guard, nav, session, style, tables
from dashboard.charts import history as history_charts
from dashboard.charts.common import STAFF_CONFIG
from dashboard.charts.staff import MAP_CONFIG
from dashboard.params import date_range, history_params, history_query

EARLIEST = date(2000, 1, 1)
p = style.DARK
st.html(style.staff_css(p))
nav.staff_links()
tz = data.timezone()
params = history_params(session.query())
asked = params.filters
names = data.campaigns()
appeal_slugs = [a.slug for a in data.appeal_list()]
found = data.history_choices()
problems = list(params.problems)


def known(values: tuple[str, ...], options: list[str], what: str) -> list[str]:
    """The URL's values that exist; the rest are named above the page and left out."""
    for value in values:
        if value not in options:
            problems.append(f"no {what} {value!r} in the data; left out")
    return [v for v in values if v in options]


def merged(seen: list[str], asked_for: tuple[str, ...]) -> list[str]:
    return sorted(set(seen) | set(asked_for))


# Widgets: every filter, kept in the URL.
title = st.empty()
notes = st.container()
when, campaign_box, appeal_box, outcome_box = st.columns([2, 2, 3, 2])
today = datetime.now(tz).date()
# No dates in the URL: all of history (an empty range); one end given: open at the other.
chosen: Any = (asked.start or EARLIEST, asked.end or today) if asked.start or asked.end else ()
picked = when.date_input(
    f"Dates ({tz.key})",
    value=chosen,
    min_value=EARLIEST,
    max_value=today + timedelta(days=366),
    format="YYYY-MM-DD",
    key="history-dates",
)
start, end = date_range(picked)
campaigns = campaign_box.multiselect(
    "Campaign",
    list(names),
    default=known(asked.campaigns, list(names), "campaign"),
    format_func=lambda slug: names.get(slug, slug),
    placeholder="All campaigns",
    key="history-campaign",
)
appeals = appeal_box.multiselect(
    "Appeal",
    appeal_slugs,
    default=known(asked.appeals, appeal_slugs, "appeal"),
    placeholder="All appeals",
    key="history-appeal",
)
outcome_options: list[str | None] = [None, *OUTCOME_GROUPS, *KINDS]
outcome = outcome_box.selectbox(
    "Outcome",
    outcome_options,
    index=outcome_options.index(asked.outcome) if asked.outcome in outcome_options else 0,
    format_func=lambda o: (
        "Any outcome"
        if o is None
        else (OUTCOME_GROUPS[o].capitalize() if o in OUTCOME_GROUPS else KINDS[o][0])
    ),
    key="history-outcome",
)
channel_box, provider_box, country_box, platform_box = st.columns(4)
channels = channel_box.multiselect(
    "Channel",
    merged(found["channels"], asked.channels),
    default=list(asked.channels),
    format_func=frames.channel_label,
    placeholder="All channels",
    key="history-channel",
)
providers = provider_box.multiselect(
    "Provider",
    merged(found["providers"], asked.providers),
    default=list(asked.providers),
    placeholder="All providers",
    key="history-provider",
)
countries = country_box.multiselect(
    "Country",
    merged(found["countries"], asked.countries),
    default=list(asked.countries),
    format_func=lambda code: f"{tables.short_country(code)} ({code})",
    placeholder="All countries",
    key="history-country",
)
platforms = platform_box.multiselect(
    "Platform (social activity)",
    merged(found["platforms"], asked.platforms),
    default=list(asked.platforms),
    placeholder="All platforms",
    key="history-platform",
)
filters = Filters(
    start=start,
    end=end,
    campaigns=tuple(campaigns),
    appeals=tuple(appeals),
    channels=tuple(channels),
    providers=tuple(providers),
    countries=tuple(countries),
    platforms=tuple(platforms),
    outcome=outcome,
)
session.share(history_query(filters))
for problem in problems:
    notes.warning(problem, icon=":material/warning:")

# Data: the rollups, 30 s.
try:
    view = data.history_view(filters)
except BadRequest as error:
    st.error(error.message, icon=":material/error:")
    st.stop()

# Charts.
described = ", ".join(f"{k} {v}" for k, v in filters.described() if v != "all") or "everything"
title.html(blocks.staff_heading("History", described))
st.html(blocks.history_headline(view.headline, tz))
with st.container(key="panel-over-time"):
    st.plotly_chart(
        history_charts.signatures_over_time(
            view.over_time, view.peaks, p, hourly=view.hourly, milestones=data.history_milestones(filters)
        ),
        key="chart-over-time",
        theme=None,
        config=STAFF_CONFIG,
    )
world, channel_panel = st.columns([3, 2])
with world.container(key="panel-countries"):
    st.html(blocks.panel_heading("Signatures by country"))
    st.plotly_chart(
        history_charts.country_map(view.countries, p, height=420),
        key="chart-countries",
        theme=None,
        config=MAP_CONFIG,
    )
with channel_panel.container(key="panel-channels"):
    st.plotly_chart(
        history_charts.channel_bars(view.channels, p, height=460),
        key="chart-channels",
        theme=None,
        config=STAFF_CONFIG,
    )
members_panel, social_panel = st.columns(2)
with members_panel.container(key="panel-members"):
    st.plotly_chart(
        history_charts.members_chart(view.members, p, hourly=view.hourly),
        key="chart-members",
        theme=None,
        config=STAFF_CONFIG,
    )
with social_panel.container(key="panel-social"):
    st.plotly_chart(
        history_charts.social_against_signatures(view.social, view.over_time, p, hourly=view.hourly),
        key="chart-social",
        theme=None,
        config=STAFF_CONFIG,
    )

st.html(blocks.panel_heading(f"Appeals · {len(view.appeals)}"))
shown = view.appeals.assign(
    opened=[d.astimezone(tz).date() for d in view.appeals["opened"]],
    outcome_at=[
        d.astimezone(tz).date() if d is not None and d == d else None for d in view.appeals["outcome_at"]
    ],
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_order=("appeal", "title", "campaign", "opened", "signatures", "outcome", "good", "outcome_at"),
    column_config={
        "appeal": st.column_config.TextColumn("Appeal"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "campaign": st.column_config.TextColumn("Campaign"),
        "opened": st.column_config.DateColumn("Opened", format="YYYY-MM-DD"),
        "signatures": st.column_config.NumberColumn("Signatures", format="localized"),
        "outcome": st.column_config.TextColumn("Outcome"),
        "good": st.column_config.CheckboxColumn("Good"),
        "outcome_at": st.column_config.DateColumn("Outcome on", format="YYYY-MM-DD"),
    },
    key="table-appeals",
)

# Downloads: exactly this view, with the filters in the file; made when clicked, and audited.
st.html(blocks.panel_heading("Export this view"))
actor = guard.actor()
too_many = view.headline.signatures > data.PAGE_EXPORT_ROWS
cli_line = "campaign export signatures " + " ".join(
    f"--{name} {value}" for name, value in history_query(filters).items() if value
)
buttons = st.columns(4)
for column, (kind, fmt, label) in zip(
    buttons,
    (
        ("figures", "csv", "Figures per hour (CSV)"),
        ("figures", "xlsx", "Figures per hour (Excel)"),
        ("signatures", "csv", "Signatures (CSV)"),
        ("signatures", "xlsx", "Signatures (Excel)"),
    ),
    strict=True,
):
    column.download_button(
        label,
        data=lambda kind=kind, fmt=fmt: data.history_export(kind, fmt, filters, actor),  # type: ignore[misc]
        file_name=data.exports.file_name(kind, fmt, filters),  # type: ignore[arg-type]
        mime="text/csv"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        on_click="ignore",
        disabled=kind == "signatures" and too_many,
        help=f"Over {data.PAGE_EXPORT_ROWS:,} signatures: use `{cli_line} --format {fmt} --output FILE`"
        if kind == "signatures" and too_many
        else "One row per signature, without numbers or any personal data"
        if kind == "signatures"
        else "Signatures per hour, appeal, channel, provider and country",
        key=f"export-{kind}-{fmt}",
    )
st.caption(
    "Every export carries its filters (CSV: the lines starting with #; Excel: the Filters sheet). "
    f"The same from the command line: `{cli_line} --format xlsx --output history.xlsx`"
)
