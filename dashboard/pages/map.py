"""Map: where a campaign went onto the streets, for staff on a laptop.

Demonstrations as markers sized by attendance on a world map whose countries are shaded
by demonstrations or by signatures (the live figures of the campaign's appeals); a
replay steps through the campaign day by day; below, the demonstrations with their links
and photos, and a form to add or edit one.  The filters live in the URL
(``/map?campaign=kenya&from=2008-02-27&to=2008-03-31&shade=signatures``), so a view is
shared by its address.  The country shapes are the dashboard's own
(``static/topojson``): the map draws without the internet.

The address also chooses the part of the world: ``/map?region=europe`` (or africa,
americas, asia, middle-east, world) at a readable scale, ``/map?country=KE`` one country
with its subdivisions shaded by demonstrations, placed in them by their coordinates
(``campaign.activity.subdivisions``).  Flickr photos with a position are small squares.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from campaign.settings import get_settings
from dashboard import blocks, data, forms, nav, regions, session, style, tables
from dashboard.charts import staff as staff_charts
from dashboard.params import MAP_SHADES, MapParams, date_range, map_params, map_query

p = style.DARK
st.html(style.staff_css(p))
nav.staff_links()
tz = data.timezone()
params = map_params(session.query())
names = data.campaigns()
frame, problem = regions.frame_for(params.region, params.country)

# Widgets: campaign, dates, shading; each kept in the URL.
title = st.empty()
left, middle, right, area = st.columns([2, 2, 2, 2])
options: list[str | None] = [None, *names]
campaign = left.selectbox(
    "Campaign",
    options,
    index=options.index(params.campaign) if params.campaign in options else 0,
    format_func=lambda slug: "All campaigns" if slug is None else names.get(slug, slug),
    key="map-campaign",
)
everything = data.demonstrations(campaign)
first, last = tables.days(everything)[:1], tables.days(everything)[-1:]
full = (first[0], last[0]) if first and last else (None, None)
asked = (params.start, params.end) if campaign == params.campaign else (None, None)
shown_range = (asked[0] or full[0], asked[1] or full[1])
today = datetime.now(tz).date()
chosen: Any = shown_range if shown_range[0] and shown_range[1] else ()
picked = middle.date_input(
    f"Dates ({tz.key})",
    value=chosen,
    min_value=min(d for d in (full[0], asked[0], today) if d) - timedelta(days=366),
    max_value=max(d for d in (full[1], asked[1], today) if d) + timedelta(days=366),
    format="YYYY-MM-DD",
    key=f"map-dates-{campaign or 'all'}",
)
start, end = date_range(picked)
shade = right.segmented_control(
    "Shade subdivisions by" if frame.country else "Shade countries by",
    MAP_SHADES,
    default=params.shade,
    format_func=str.capitalize,
    required=True,
    key="map-shade",
)
# The part of the world: a region, or the country the address named.
areas = [*regions.REGIONS, *([frame.key] if frame.country else [])]
picked_area = area.selectbox(
    "Area",
    areas,
    index=areas.index(frame.key),
    format_func=lambda key: regions.REGIONS[key].name if key in regions.REGIONS else frame.name,
    key=f"map-area-{frame.key}",
)
if picked_area != frame.key:  # only the current country is not a region
    frame = regions.REGIONS[picked_area]
view = MapParams(
    campaign=campaign,
    start=start if start != full[0] else None,
    end=end if end != full[1] else None,
    shade=shade or "demonstrations",
    region=None if frame.country or frame is regions.WORLD else frame.key,
    country=frame.country,
)
session.share(map_query(view))
if problem:
    st.warning(problem)

# Data: demonstrations from SQL (30 s), signatures by country from the live view (5 s).
shown = regions.in_frame(frame, tables.between(everything, start, end))
photos = regions.in_frame(frame, tables.between(data.flickr_photos(campaign), start, end))
signatures = None
if view.shade == "signatures" and frame.country:
    st.info(
        "Signatures are known by country only (a phone number tells no more): "
        f"{frame.name}'s subdivisions are shaded by demonstrations."
    )
elif view.shade == "signatures":
    live = data.country_signatures()
    signatures = tables.signatures_by_country(live.appeals, campaign)
    if live.error:
        st.warning(f"Signatures by country are not available now: {live.error}")
steps = tables.days(shown, start, end)

# Charts.
title.html(
    blocks.staff_heading(
        "Demonstrations",
        (names.get(campaign, campaign) if campaign else "All campaigns") + f" · {frame.name}",
    )
)
st.html(blocks.map_summary(shown))
with st.container(key="panel-map"):
    st.plotly_chart(
        staff_charts.demonstration_map(
            shown,
            p,
            shade=view.shade,
            signatures=signatures,
            days=steps,
            height=620,
            frame=frame,
            photos=photos,
        ),
        key="chart-map",
        theme=None,
        config=staff_charts.MAP_CONFIG,
    )
if frame.country:
    st.html(blocks.panel_heading(f"Demonstrations by subdivision · {frame.name}"))
    st.html(blocks.subdivision_counts(tables.by_subdivision(shown, frame.country), frame.name))
st.html(blocks.panel_heading(f"Demonstrations · {len(shown)}"))
st.html(blocks.demonstration_list(shown.iloc[::-1]))
if len(photos):
    st.html(blocks.panel_heading(f"Photos on Flickr · {len(photos)}"))
    st.html(blocks.photo_list(photos, thumbnails=get_settings().map_photo_thumbnails))
forms.flash()
with st.expander("Add or edit a demonstration", icon=":material/edit:"):
    forms.demonstration_form(names, everything, tz, campaign)
