"""The screens' charts: pure functions from a DataFrame (and a palette) to a Plotly figure.

No Streamlit and no Redis here, so each chart can be tested with a hand-made table.
The charts are read from across a room, never hovered: large type, no toolbar, no
hover labels, few gridlines, and a ``uirevision`` so a once-a-second update redraws
the data without resetting the figure.  The staff pages' charts (the map of
demonstrations, the outcomes), further down, are read close up on a laptop: they keep
hover labels and smaller type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from dashboard.frames import CHANNEL_NAMES, grouped
from dashboard.style import Palette
from dashboard.tables import by_country, world

FONT = '"Source Sans", "Source Sans Pro", "Source Sans 3", system-ui, sans-serif'
# Thousands are set apart with a narrow no-break space (12 345), as on the big numbers.
SEPARATORS = ".\u202f"
CHANNEL_ORDER = tuple(CHANNEL_NAMES.values())
# Plotly options for a screen: a still picture that updates, nothing to click.
SCREEN_CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}


def per_minute_chart(frame: pd.DataFrame, p: Palette, *, height: int = 380) -> go.Figure:
    """Signatures per minute over the last hour, stacked by appeal when there are several.

    ``frame``: columns minute (local time), appeal, signatures; as ``frames.per_minute``.
    """
    figure = go.Figure()
    appeals = list(dict.fromkeys(frame["appeal"])) if len(frame) else []
    for i, appeal in enumerate(appeals):
        rows = frame[frame["appeal"] == appeal]
        figure.add_bar(
            x=rows["minute"],
            y=rows["signatures"],
            name=str(appeal),
            marker={"color": p.series[i % len(p.series)], "line": {"width": 0}},
        )
    screen_layout(figure, p, "Signatures per minute · last hour", height)
    figure.update_layout(
        barmode="stack",
        bargap=0.18,
        showlegend=len(appeals) > 1,
        # Appeals in the legend in the order of the cards above, not Plotly's stack order.
        legend={
            "orientation": "h",
            "x": 1,
            "xanchor": "right",
            "y": 1.12,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
    )
    figure.update_xaxes(
        type="date",
        tickformat="%H:%M",
        dtick=10 * 60 * 1000,
        showgrid=False,
        ticks="",
        linecolor=p.border,
    )
    figure.update_yaxes(rangemode="tozero", gridcolor=p.grid, zeroline=False, nticks=5, tickformat=",d")
    if not appeals:
        # No times to draw: without them Plotly spans hours of empty ten-minute ticks.
        figure.update_xaxes(showticklabels=False)
        mark_empty(figure, p, "No appeals to show")
    elif int(frame["signatures"].sum()) == 0:
        figure.update_yaxes(range=[0, 5])
        mark_empty(figure, p, "No signatures in the last hour")
    return figure


def channel_chart(frame: pd.DataFrame, p: Palette, *, height: int = 380) -> go.Figure:
    """How people signed: a ring for one appeal, one bar of shares per appeal for several.

    ``frame``: columns appeal, channel, signatures; as ``frames.channels``.
    """
    appeals = list(dict.fromkeys(frame["appeal"])) if len(frame) else []
    figure = go.Figure()
    if len(appeals) <= 1:
        summed = frame.groupby("channel", sort=False)["signatures"].sum() if len(frame) else None
        if summed is not None and int(summed.sum()) > 0:
            names = [str(n) for n in summed.index]
            figure.add_pie(
                labels=names,
                values=[int(v) for v in summed.to_numpy()],
                hole=0.62,
                sort=False,
                direction="clockwise",
                marker={"colors": [channel_color(n, p) for n in names], "line": {"width": 0}},
                texttemplate="%{percent:.0%}",
                textposition="inside",
                insidetextorientation="horizontal",
                textfont={"size": 20, "color": p.background},
            )
            figure.add_annotation(
                text=f"<b>{grouped(int(summed.sum()))}</b><br>signatures",
                showarrow=False,
                font={"size": 24, "color": p.text},
                x=0.5,
                y=0.5,
                xref="paper",
                yref="paper",
            )
    else:
        shares = frame.assign(
            share=frame["signatures"] * 100 / frame.groupby("appeal")["signatures"].transform("sum")
        )
        for channel in sorted(set(shares["channel"]), key=channel_rank):
            rows = shares[shares["channel"] == channel]
            figure.add_bar(
                y=rows["appeal"],
                x=rows["share"],
                name=str(channel),
                orientation="h",
                marker={"color": channel_color(str(channel), p), "line": {"width": 0}},
                texttemplate="%{x:.0f}%",
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": p.background, "size": 18},
            )
        figure.update_layout(barmode="stack", bargap=0.35)
        figure.update_xaxes(visible=False, range=[0, 100])
        figure.update_yaxes(autorange="reversed", showgrid=False, ticks="", ticklabelstandoff=8)
    screen_layout(figure, p, "Channels", height)
    figure.update_layout(
        uniformtext={"minsize": 14, "mode": "hide"},  # no shares too small to read from afar
        showlegend=True,
        legend={"orientation": "v", "x": 1, "xanchor": "right", "y": 0.5, "yanchor": "middle"}
        if len(appeals) <= 1
        else {"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top"},
    )
    if not appeals or frame["signatures"].sum() == 0:
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No signatures yet")
    return figure


def country_chart(frame: pd.DataFrame, p: Palette, *, height: int = 330) -> go.Figure:
    """The leading countries by signatures, largest on top, each bar labelled with its count.

    ``frame``: columns country, name, signatures; as ``frames.countries``.
    """
    figure = go.Figure()
    if len(frame):
        figure.add_bar(
            y=frame["name"],
            x=frame["signatures"],
            orientation="h",
            marker={"color": p.accent, "line": {"width": 0}},
            texttemplate="%{x:,d}",
            textposition="outside",
            cliponaxis=False,
            textfont={"color": p.text, "size": 20},
        )
    screen_layout(figure, p, "Top countries", height)
    figure.update_layout(bargap=0.28, margin={"r": 70})
    figure.update_xaxes(visible=False, rangemode="tozero")
    figure.update_yaxes(autorange="reversed", showgrid=False, ticks="", ticklabelstandoff=10)
    if not len(frame):
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No signatures yet")
    return figure


def channel_color(channel: str, p: Palette) -> str:
    """The same channel keeps the same colour on every chart and every screen."""
    rank = channel_rank(channel)
    return p.series[rank] if rank < len(p.series) - 1 else p.series[-1]


def channel_rank(channel: str) -> int:
    """A channel's place in ``CHANNEL_ORDER``; unknown channels come last."""
    return CHANNEL_ORDER.index(channel) if channel in CHANNEL_ORDER else len(CHANNEL_ORDER)


def screen_layout(figure: go.Figure, p: Palette, title: str, height: int) -> None:
    """A wall screen's look: large type, a small capital title, no hover, a steady ``uirevision``."""
    figure.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 46, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": 18, "color": p.text},
        title={
            "text": title.upper(),
            "x": 0,
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
            "pad": {"t": 4},
            "font": {"size": 17, "color": p.muted, "weight": 600},
        },
        separators=SEPARATORS,
        hovermode=False,
        uirevision="screen",
        legend={"font": {"size": 17, "color": p.text}, "bgcolor": "rgba(0,0,0,0)"},
    )
    figure.update_xaxes(tickfont={"size": 16, "color": p.muted}, automargin=True)
    figure.update_yaxes(tickfont={"size": 17, "color": p.muted}, automargin=True)


def mark_empty(figure: go.Figure, p: Palette, message: str) -> None:
    """Write ``message`` in the middle of a figure that has nothing to draw."""
    figure.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 22, "color": p.muted},
    )


# -- staff pages: the map of demonstrations and the outcomes --------------------------------------
# Read on a laptop, close up: hover labels on, smaller type, the app's dark theme.

# Where Plotly finds the country shapes: dashboard/static/topojson/, served by Streamlit
# itself (enableStaticServing), so a map draws with no internet and nothing from a CDN.
TOPOJSON_URL = "/app/static/topojson/"
MAP_CONFIG = {"displayModeBar": False, "scrollZoom": False, "responsive": True, "topojsonURL": TOPOJSON_URL}
STAFF_CONFIG = {"displayModeBar": False, "responsive": True}
LAND = "#232A36"
SHADE_SCALE = [[0.0, LAND], [0.001, "#1D4657"], [0.5, "#2A7594"], [1.0, "#3FA7CF"]]
MARKER_AREA = 46  # px: the diameter of the largest demonstration's marker
MIN_ROWS = 6  # bars a bar chart of groups has room for, however few there are
SHADE_NAMES = {"demonstrations": "demonstrations", "signatures": "signatures"}


def demonstration_map(
    demos: pd.DataFrame,
    p: Palette,
    *,
    shade: str = "demonstrations",
    signatures: pd.DataFrame | None = None,
    days: Sequence[date] = (),
    height: int = 620,
) -> go.Figure:
    """Demonstrations as markers sized by attendance on countries shaded by ``shade``.

    ``demos``: as ``tables.demonstrations``; ``signatures``: iso3, name, value (for
    ``shade="signatures"``).  With ``days``, one animation frame per day replays the
    campaign: each frame shows the demonstrations up to that day, and the countries
    shaded by them; signatures have no history by country, so they stay as they are now.
    Every country is part of the shading (zero looks like plain land), so each shape
    can be hovered and each is drawn as its own path.
    """
    figure = go.Figure()
    steps = list(days)
    shown = demos if not steps else demos[demos["day"] <= steps[-1]]
    counts = _counts(shown, shade, signatures)
    top = max(counts, default=0)  # the last day has the most: one scale for the whole replay
    figure.add_trace(_shading(counts, p, shade, top))
    figure.add_trace(_markers(shown, p, _size_ref(demos)))
    if len(steps) > 1:
        figure.frames = [
            go.Frame(
                name=day.isoformat(),
                data=[
                    _shading(_counts(demos[demos["day"] <= day], shade, signatures), p, shade, top),
                    _markers(demos[demos["day"] <= day], p, _size_ref(demos)),
                ],
                traces=[0, 1],
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
        uirevision="map",
        geo={
            "projection": {"type": "natural earth"},
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
            "lataxis": {"range": [-57, 84]},
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
        colorbar={
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
        },
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
    return figure


def staff_layout(figure: go.Figure, p: Palette, title: str, height: int) -> None:
    """A staff page's look: the screen layout read close up, with hover labels and smaller type."""
    screen_layout(figure, p, title, height)
    figure.update_layout(
        hovermode="closest",
        font={"size": 15},
        title={"font": {"size": 14}},
        margin={"l": 8, "r": 16, "t": 40, "b": 8},
        hoverlabel={"bgcolor": p.surface, "bordercolor": p.border, "font": {"color": p.text, "size": 14}},
        uirevision="staff",
    )
    figure.update_xaxes(tickfont={"size": 13})
    figure.update_yaxes(tickfont={"size": 14})
