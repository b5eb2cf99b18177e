"""The staff pages' charts: the Map page's map of demonstrations and the Outcomes page's charts.

Read on a laptop, close up: hover labels on, smaller type, the app's dark theme
(``common.staff_layout``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from campaign.activity import subdivisions
from dashboard import tables
from dashboard.charts.common import FONT, MIN_ROWS, SEPARATORS, mark_empty, span_time_axis, staff_layout
from dashboard.frames import grouped
from dashboard.regions import WORLD, Frame
from dashboard.style import Palette
from dashboard.tables import by_country, world

# Where Plotly finds the country shapes: dashboard/static/topojson/, served by Streamlit
# itself (enableStaticServing), so a map draws with no internet and nothing from a CDN.
TOPOJSON_URL = "/app/static/topojson/"
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "responsive": True, "topojsonURL": TOPOJSON_URL}
LAND = "#232A36"
SHADE_SCALE = [[0.0, LAND], [0.001, "#1D4657"], [0.5, "#2A7594"], [1.0, "#3FA7CF"]]
PHOTO = "#4CC9F0"  # Flickr photos: small squares in the palette's second colour, beside the yellow marches
MARKER_AREA = 46  # px: the diameter of the largest demonstration's marker
SHADE_NAMES = {"demonstrations": "demonstrations", "signatures": "signatures"}


def demonstration_map(
    demos: pd.DataFrame,
    p: Palette,
    *,
    shade: str = "demonstrations",
    signatures: pd.DataFrame | None = None,
    days: Sequence[date] = (),
    height: int = 620,
    frame: Frame = WORLD,
    photos: pd.DataFrame | None = None,
) -> go.Figure:
    """Demonstrations as markers sized by attendance on countries shaded by ``shade``.

    ``demos``: as ``tables.demonstrations``; ``signatures``: iso3, name, value (for
    ``shade="signatures"``); ``frame``: the part of the world shown (``dashboard.regions``):
    for one country, its subdivisions are shaded by demonstrations instead of the countries;
    ``photos``: Flickr photos (``tables.photos``) drawn as small squares.  With ``days``, one
    animation frame per day replays the campaign: each frame shows the demonstrations and
    photos up to that day, and the shapes shaded by them; signatures have no history by
    country, so they stay as they are now.  Every shape is part of the shading (zero looks
    like plain land), so each can be hovered and each is drawn as its own path.
    """
    figure = go.Figure()
    steps = list(days)
    shown = demos if not steps else demos[demos["day"] <= steps[-1]]
    pictures = photos if photos is not None else tables.photos([], ZoneInfo("UTC"))

    def shading(rows: pd.DataFrame, top: int) -> go.Choropleth:
        if frame.country:
            return _subdivision_shading(_subdivision_counts(rows, frame.country), frame.country, p, top)
        return _shading(_counts(rows, shade, signatures), p, shade, top)

    def step(rows: pd.DataFrame, top: int) -> go.Choropleth:
        """A replay frame changes the values only: the shapes (up to a few hundred kB for a
        country's subdivisions) are sent once, with the figure, not once per day."""
        if frame.country:
            counts = _subdivision_counts(rows, frame.country)
            return go.Choropleth(z=[math.log10(1 + n) for n in counts], customdata=counts)
        return shading(rows, top)

    counts = _subdivision_counts(shown, frame.country) if frame.country else _counts(shown, shade, signatures)
    top = max(counts, default=0)  # the last day has the most: one scale for the whole replay
    figure.add_trace(shading(shown, top))
    figure.add_trace(_markers(shown, p, _size_ref(demos)))
    figure.add_trace(_photo_markers(pictures if not steps else pictures[pictures["day"] <= steps[-1]], p))
    if len(steps) > 1:
        figure.frames = [
            go.Frame(
                name=day.isoformat(),
                data=[
                    step(demos[demos["day"] <= day], top),
                    _markers(demos[demos["day"] <= day], p, _size_ref(demos)),
                    _photo_markers(pictures[pictures["day"] <= day], p),
                ],
                traces=[0, 1, 2],
            )
            for day in steps
        ]
        _replay_controls(figure, steps, p)
    figure.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": 15, "color": p.text},
        separators=SEPARATORS,
        showlegend=False,
        hoverlabel={"bgcolor": p.surface, "bordercolor": p.border, "font": {"color": p.text, "size": 15}},
        uirevision=f"map-{frame.name}",  # a new region or country is a new view, not a kept zoom
        geo={
            "projection": {"type": frame.projection, "rotation": {"lon": frame.center_lon}},
            "showframe": False,
            "showcoastlines": False,
            "showland": True,
            "landcolor": LAND,
            "showocean": False,  # the sea is the panel itself: only the land is drawn
            "showcountries": True,
            "countrycolor": p.background,
            "countrywidth": 0.6,
            "showlakes": False,
            "bgcolor": "rgba(0,0,0,0)",
            "lataxis": {"range": list(frame.lataxis)},
            "lonaxis": {"range": list(frame.lonaxis)},
            "resolution": 110,
        },
    )
    if not len(demos) and shade == "demonstrations":
        mark_empty(figure, p, "No demonstrations in this view")
    return figure


def _counts(demos: pd.DataFrame, shade: str, signatures: pd.DataFrame | None) -> list[int]:
    """The shaded value of every country of ``world()``, in its order."""
    counts = by_country(demos) if shade == "demonstrations" else signatures
    values = dict(zip(counts["iso3"], counts["value"], strict=True)) if counts is not None else {}
    return [int(values.get(code, 0)) for code in world()["iso3"]]


def _subdivision_counts(demos: pd.DataFrame, country: str) -> list[int]:
    """Demonstrations in each subdivision of ``country``, in ``subdivisions.subdivisions`` order."""
    values = tables.by_subdivision(demos, country)
    found = dict(zip(values["code"], values["value"], strict=True))
    return [int(found.get(s.code, 0)) for s in subdivisions.subdivisions(country)]


def _colorbar(what: str, top: int, p: Palette) -> dict[str, Any]:
    return {
        "title": {"text": what, "side": "top", "font": {"size": 13, "color": p.muted}},
        "orientation": "h",
        "thickness": 8,
        "len": 0.22,
        "x": 0.01,
        "xanchor": "left",
        "y": 0.04,
        "yanchor": "bottom",
        "outlinewidth": 0,
        "tickfont": {"size": 12, "color": p.muted},
        "tickvals": [0, math.log10(1 + max(top, 1))],
        "ticktext": ["0", grouped(max(top, 1))],
    }


def _shading(counts: list[int], p: Palette, shade: str, top: int) -> go.Choropleth:
    """Countries shaded on a log scale (a country with 3 signatures is visible beside one with
    3,000); hover and colour bar give the real numbers.  ``top``: the same scale in every frame."""
    what = SHADE_NAMES.get(shade, shade)
    return go.Choropleth(
        locations=world()["iso3"],
        z=[math.log10(1 + n) for n in counts],
        customdata=counts,
        text=world()["name"],
        locationmode="ISO-3",
        zmin=0,
        zmax=math.log10(1 + max(top, 1)),
        colorscale=SHADE_SCALE,
        marker={"line": {"color": p.background, "width": 0.6}},
        hovertemplate=f"<b>%{{text}}</b><br>%{{customdata:,d}} {what}<extra></extra>",
        colorbar=_colorbar(what, top, p),
    )


def _subdivision_shading(counts: list[int], country: str, p: Palette, top: int) -> go.Choropleth:
    """A country's subdivisions shaded like the countries, from the shapes shipped with the
    project (sent inside the figure: nothing is fetched)."""
    found = subdivisions.subdivisions(country)
    return go.Choropleth(
        geojson=subdivisions.shapes(country),
        locations=[s.code for s in found],
        featureidkey="id",
        z=[math.log10(1 + n) for n in counts],
        customdata=counts,
        text=[s.name for s in found],
        zmin=0,
        zmax=math.log10(1 + max(top, 1)),
        colorscale=SHADE_SCALE,
        marker={"line": {"color": p.muted, "width": 0.8}},
        hovertemplate="<b>%{text}</b><br>%{customdata:,d} demonstrations<extra></extra>",
        colorbar=_colorbar("demonstrations", top, p),
    )


def _photo_markers(photos: pd.DataFrame, p: Palette) -> go.Scattergeo:
    """Flickr photos as small squares; hover gives the title, the day and the photo's link."""
    custom = [
        [row.title or "Untitled photo", f"{row.taken:%a %d %b %Y}", row.url] for row in photos.itertuples()
    ]
    return go.Scattergeo(
        lat=photos["latitude"],
        lon=photos["longitude"],
        mode="markers",
        customdata=custom,
        marker={"size": 8, "symbol": "square", "color": PHOTO, "line": {"color": p.background, "width": 1}},
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>Flickr photo · %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
        ),
    )


def _size_ref(demos: pd.DataFrame) -> float:
    """One scale for every frame, so a marker keeps its size while the replay runs."""
    largest = int(demos["attendance"].max()) if len(demos) and demos["attendance"].notna().any() else 0
    return max(largest, 1) / MARKER_AREA**2


def _markers(demos: pd.DataFrame, p: Palette, size_ref: float) -> go.Scattergeo:
    attendance = demos["attendance"].astype("Float64").fillna(0).astype(float)
    custom = [
        [
            row.title,
            f"{row.city}, {row.country_name}",
            f"{row.starts_at:%a %d %b %Y · %H:%M}",
            "attendance unknown" if pd.isna(row.attendance) else f"{grouped(int(row.attendance))} people",
            row.organiser or "organiser unknown",
        ]
        for row in demos.itertuples(index=False)
    ]
    return go.Scattergeo(
        lat=demos["latitude"],
        lon=demos["longitude"],
        mode="markers",
        customdata=custom,
        marker={
            "size": attendance,
            "sizemode": "area",
            "sizeref": size_ref,
            "sizemin": 7,
            "color": p.accent,
            "opacity": 0.88,
            "line": {"color": p.background, "width": 1.5},
        },
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}"
            "<br>%{customdata[3]} · %{customdata[4]}<extra></extra>"
        ),
    )


def _replay_controls(figure: go.Figure, steps: Sequence[date], p: Palette) -> None:
    """A slider of days and a play button; the map opens on the last day."""
    slider_steps = [
        {
            "label": f"{day:%d %b}",
            "method": "animate",
            "args": [
                [day.isoformat()],
                {
                    "mode": "immediate",
                    "frame": {"duration": 0, "redraw": True},
                    "transition": {"duration": 0},
                },
            ],
        }
        for day in steps
    ]
    figure.update_layout(
        sliders=[
            {
                "active": len(steps) - 1,
                "steps": slider_steps,
                "x": 0.08,
                "len": 0.9,
                "y": 0.0,
                "yanchor": "top",
                "pad": {"t": 8, "b": 0},
                "bgcolor": p.border,
                "activebgcolor": p.accent,
                "bordercolor": p.border,
                "tickcolor": p.muted,
                "font": {"color": p.muted, "size": 12},
                "currentvalue": {
                    "prefix": "Up to ",
                    "font": {"color": p.text, "size": 15},
                    "xanchor": "left",
                },
                "transition": {"duration": 0},
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": 0.0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 30, "r": 8},
                "showactive": False,
                "bgcolor": p.surface,
                "bordercolor": p.border,
                "font": {"color": p.text, "size": 14},
                "buttons": [
                    {
                        "label": "▶ Replay",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                "frame": {"duration": 700, "redraw": True},
                                "transition": {"duration": 0},
                                "fromcurrent": False,
                                "mode": "immediate",
                            },
                        ],
                    }
                ],
            }
        ],
        margin={"b": 84},
    )


def outcome_kind_chart(frame: pd.DataFrame, p: Palette, *, height: int = 340) -> go.Figure:
    """Appeals per outcome, good in green and the rest in red, most frequent on top.

    ``frame``: columns kind, label, good, appeals; as ``tables.outcome_kinds``.
    """
    figure = go.Figure()
    order = (
        frame.groupby("label", sort=False)["appeals"].sum().sort_values(ascending=False, kind="stable")
        if len(frame)
        else pd.Series(dtype="int64")
    )
    for good, name, color in ((True, "good", p.good), (False, "not good", p.alert)):
        rows = frame[frame["good"] == good]
        if len(rows):
            figure.add_bar(
                y=rows["label"],
                x=rows["appeals"],
                name=name,
                orientation="h",
                marker={"color": color, "line": {"width": 0}},
                texttemplate="%{x}",
                textposition="inside",
                textfont={"color": p.background, "size": 14},
                hovertemplate=f"%{{y}}: %{{x}} appeal(s), {name}<extra></extra>",
            )
    staff_layout(figure, p, "By outcome", height)
    figure.update_layout(barmode="stack", bargap=0.3, showlegend=False)
    figure.update_xaxes(visible=False, rangemode="tozero")
    figure.update_yaxes(
        categoryorder="array",
        categoryarray=list(order.index)[::-1],
        range=[-0.5 - max(0, MIN_ROWS - len(order)), len(order) - 0.5],
        showgrid=False,
        ticks="",
    )
    if not len(frame):
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No outcomes yet")
    return figure


def good_share_chart(frame: pd.DataFrame, p: Palette, *, title: str, height: int = 340) -> go.Figure:
    """Share of decided appeals with a good outcome per group, best first, with "2 of 3".

    ``frame``: columns name, appeals, good, share (0..1); as ``tables.shares``.
    """
    figure = go.Figure()
    if len(frame):
        figure.add_bar(
            y=frame["name"],
            x=frame["share"] * 100,
            orientation="h",
            customdata=list(zip(frame["good"], frame["appeals"], strict=True)),
            marker={"color": p.accent, "line": {"width": 0}},
            texttemplate="%{x:.0f}% · %{customdata[0]} of %{customdata[1]}",
            textposition="outside",
            cliponaxis=False,
            textfont={"color": p.text, "size": 14},
            hovertemplate="%{y}: %{customdata[0]} good of %{customdata[1]} decided<extra></extra>",
        )
    staff_layout(figure, p, title, height)
    figure.update_layout(bargap=0.3, margin={"r": 110})
    figure.update_xaxes(visible=False, range=[0, 100])
    # Room for at least MIN_ROWS bars, so a single group is a bar, not a block.
    figure.update_yaxes(range=[max(len(frame), MIN_ROWS) - 0.5, -0.5], showgrid=False, ticks="")
    if not len(frame):
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No outcomes yet")
    return figure


def days_to_outcome_chart(frame: pd.DataFrame, p: Palette, *, height: int = 300) -> go.Figure:
    """How long appeals took to reach their outcome: a histogram in 15-day bins, good stacked on not.

    ``frame``: columns days, good; as ``tables.timeline``.
    """
    figure = go.Figure()
    for good, name, color in ((True, "good", p.good), (False, "not good", p.alert)):
        rows = frame[frame["good"] == good]
        if len(rows):
            figure.add_histogram(
                x=rows["days"],
                name=name,
                xbins={"start": 0, "size": 15},
                marker={"color": color, "line": {"width": 0}},
                hovertemplate=f"%{{x}} days: %{{y}} {name}<extra></extra>",
            )
    staff_layout(figure, p, "Days from opening to outcome", height)
    figure.update_layout(barmode="stack", bargap=0.08, showlegend=False)
    longest = float(frame["days"].max()) if len(frame) else 0.0
    figure.update_xaxes(
        range=[0, max(90.0, longest + 15)], ticksuffix=" d", showgrid=False, tick0=0, dtick=30
    )
    figure.update_yaxes(gridcolor=p.grid, zeroline=False, dtick=1, tickformat=",d", rangemode="tozero")
    if not len(frame):
        mark_empty(figure, p, "No outcomes yet")
    return figure


def outcome_timeline_chart(frame: pd.DataFrame, p: Palette, *, height: int = 300) -> go.Figure:
    """When each appeal's outcome came, one dot each, by kind, good or not by colour.

    ``frame``: columns at (local), title, label, good, days; as ``tables.timeline``.
    """
    figure = go.Figure()
    for good, name, color in ((True, "good", p.good), (False, "not good", p.alert)):
        rows = frame[frame["good"] == good]
        if len(rows):
            figure.add_scatter(
                x=rows["at"],
                y=rows["label"],
                mode="markers",
                name=name,
                customdata=list(zip(rows["title"], rows["days"].round().astype(int), strict=True)),
                marker={"color": color, "size": 14, "line": {"color": p.background, "width": 1.5}},
                hovertemplate="<b>%{customdata[0]}</b><br>%{y}, %{x|%d %b %Y}"
                "<br>after %{customdata[1]} days<extra></extra>",
            )
    staff_layout(figure, p, "Outcomes over time", height)
    figure.update_layout(showlegend=False)
    figure.update_xaxes(type="date", showgrid=False, tickformat="%b %Y")
    figure.update_yaxes(gridcolor=p.grid, ticks="", categoryorder="category descending")
    if not len(frame):
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No outcomes yet")
    else:
        # One outcome, or a few in a week, still read on a scale of months.
        span_time_axis(figure, frame["at"], bucket=timedelta(days=1), least=timedelta(days=90))
    return figure
