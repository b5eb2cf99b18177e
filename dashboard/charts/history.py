"""The History page's charts: pure functions from DataFrames (and a palette) to Plotly figures.

Read close up on a laptop, like the other staff pages' charts (``dashboard.charts.staff``):
hover labels, smaller type, the app's dark theme.  Times arrive in the organisation's
time zone (``campaign.history.rows.view``).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from dashboard import tables
from dashboard.charts.common import (
    MIN_ROWS,
    channel_color,
    mark_empty,
    span_time_axis,
    stacked_peak,
    staff_layout,
    whole_ticks,
)
from dashboard.charts.staff import demonstration_map
from dashboard.frames import channel_label
from dashboard.style import Palette

PEAK_LABELS = 3  # TV moments written on the chart; the rest are marked only
# The least a time chart spans, so that a first hour or a first day reads as such.
LEAST_HOURS = timedelta(hours=12)
LEAST_DAYS = timedelta(days=7)
_UTC = ZoneInfo("UTC")  # the map's (empty) demonstrations need a zone


def signatures_over_time(
    series: pd.DataFrame,
    peaks: pd.DataFrame,
    p: Palette,
    *,
    hourly: bool,
    height: int = 360,
    milestones: pd.DataFrame | None = None,
) -> go.Figure:
    """Signatures per hour or per day, with the busiest hours (the TV moments) and milestones marked.

    ``series``: at, signatures; ``peaks``: at, signatures (busiest first, per hour);
    ``milestones``: at (local, naive), label, as ``frames.milestone_marks``.
    """
    figure = go.Figure()
    unit = "hour" if hourly else "day"
    figure.add_bar(
        x=series["at"],
        y=series["signatures"],
        marker={"color": p.accent, "line": {"width": 0}},
        hovertemplate=("%{x|%a %d %b %Y %H:%M}" if hourly else "%{x|%a %d %b %Y}")
        + f": %{{y:,d}} signatures<extra>per {unit}</extra>",
        name="signatures",
    )
    staff_layout(figure, p, f"Signatures per {unit}", height)
    figure.update_layout(bargap=0.05, showlegend=False)
    figure.update_xaxes(type="date", showgrid=False)
    peak = stacked_peak(series, "at", "signatures")
    figure.update_yaxes(gridcolor=p.grid, zeroline=False, **whole_ticks(peak))
    if not len(series):
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No signatures in this view")
        return figure
    _span(figure, series["at"], hourly)
    heights = dict(zip(_bucket(series["at"], hourly), series["signatures"], strict=True))
    for rank, row in enumerate(peaks.itertuples(index=False)):
        bucket = _bucket(pd.Series([row.at]), hourly)[0]
        label = f"{row.at:%a %d %b %H:%M} · {row.signatures:,d} in the hour".replace(",", "\u202f")
        figure.add_annotation(
            x=bucket,
            y=heights.get(bucket, row.signatures),
            text=label if rank < PEAK_LABELS else "",
            showarrow=True,
            arrowhead=0,
            arrowcolor=p.muted,
            ax=0,
            ay=-28 - 22 * rank if rank < PEAK_LABELS else -14,
            font={"size": 13, "color": p.text},
            bgcolor=p.surface if rank < PEAK_LABELS else None,
            bordercolor=p.border if rank < PEAK_LABELS else None,
        )
    if milestones is not None:
        _mark_milestones(figure, milestones, series, p, hourly)
    return figure


def _mark_milestones(
    figure: go.Figure, milestones: pd.DataFrame, series: pd.DataFrame, p: Palette, hourly: bool
) -> None:
    """A dotted line at each milestone's bar, labelled at the top, like the TV moments' marks."""
    if not len(milestones):
        return
    stamps = pd.to_datetime(series["at"])
    zone = stamps.dt.tz
    at = pd.to_datetime(milestones["at"])
    at = at.dt.tz_localize(zone) if zone is not None else at
    first, last = stamps.min(), stamps.max() + (timedelta(hours=1) if hourly else timedelta(days=1))
    for when, label in zip(_bucket(at, hourly), milestones["label"], strict=True):
        if not first <= when < last:
            continue  # outside the view's span
        figure.add_shape(
            type="line",
            x0=when,
            x1=when,
            yref="paper",
            y0=0,
            y1=1,
            line={"color": p.good, "width": 2, "dash": "dot"},
        )
        figure.add_annotation(
            x=when,
            y=1,
            yref="paper",
            text=f"★ {label}",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 12, "color": p.good},
            name="milestone",
        )


def _bucket(values: pd.Series, hourly: bool) -> list[pd.Timestamp]:
    """Where a moment sits on the chart: its hour, or the start of its (UTC) day's bar."""
    stamps = pd.to_datetime(values)
    if hourly:
        return list(stamps.dt.floor("h"))
    tz = stamps.dt.tz
    return list(stamps.dt.tz_convert("UTC").dt.floor("D").dt.tz_convert(tz))


def country_map(countries: pd.DataFrame, p: Palette, *, height: int = 460) -> go.Figure:
    """Signatures by country on the offline world map (the Map page's shapes and shading).

    ``countries``: country (alpha-2), signatures.
    """
    shaded = signatures_by_iso3(countries)
    figure = demonstration_map(
        tables.demonstrations([], _UTC), p, shade="signatures", signatures=shaded, height=height
    )
    if not len(countries):
        mark_empty(figure, p, "No signatures in this view")
    return figure


def signatures_by_iso3(countries: pd.DataFrame) -> pd.DataFrame:
    """country (alpha-2), signatures -> iso3, name, value: what the map shades by."""
    names = dict(zip(tables.world()["iso3"], tables.world()["name"], strict=True))
    summed: dict[str, int] = {}
    for code, n in zip(countries["country"], countries["signatures"], strict=True):
        iso = tables.iso3(str(code))
        if iso:
            summed[iso] = summed.get(iso, 0) + int(n)
    rows = [{"iso3": iso, "name": names.get(iso, iso), "value": n} for iso, n in sorted(summed.items())]
    return pd.DataFrame(rows, columns=["iso3", "name", "value"]).astype({"value": "int64"})


def channel_bars(channels: pd.DataFrame, p: Palette, *, height: int = 360) -> go.Figure:
    """Signatures per channel, each split by provider; most first.

    ``channels``: channel, provider, signatures.
    """
    figure = go.Figure()
    order = (
        channels.groupby("channel")["signatures"].sum().sort_values(ascending=False)
        if len(channels)
        else pd.Series(dtype="int64")
    )
    labels = [channel_label(str(c)) for c in order.index]
    for (channel, provider), rows in channels.groupby(["channel", "provider"], sort=False):
        figure.add_bar(
            y=[channel_label(str(channel))],
            x=rows["signatures"],
            orientation="h",
            name=str(provider),
            marker={
                "color": channel_color(channel_label(str(channel)), p),
                "line": {"color": p.background, "width": 1},
            },
            texttemplate=f"{provider} %{{x:,d}}",
            textposition="inside",
            insidetextanchor="middle",
            textfont={"color": p.background, "size": 13},
            hovertemplate=f"%{{y}} via {provider}: %{{x:,d}}<extra></extra>",
        )
    staff_layout(figure, p, "By channel and provider", height)
    figure.update_layout(barmode="stack", bargap=0.3, showlegend=False)
    figure.update_xaxes(visible=False, rangemode="tozero")
    figure.update_yaxes(
        categoryorder="array",
        categoryarray=labels[::-1],
        range=[-0.5 - max(0, MIN_ROWS - len(labels)), len(labels) - 0.5],
        showgrid=False,
        ticks="",
    )
    if not len(channels):
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No signatures in this view")
    return figure


def members_chart(members: pd.DataFrame, p: Palette, *, hourly: bool, height: int = 300) -> go.Figure:
    """Supporters who joined the SMS network, per hour or day.  ``members``: at, members."""
    frame = _per(members, "members", hourly)
    figure = go.Figure()
    figure.add_bar(
        x=frame["at"],
        y=frame["members"],
        marker={"color": p.good, "line": {"width": 0}},
        hovertemplate="%{x|%d %b %Y" + (" %H:%M" if hourly else "") + "}: %{y:,d} joined<extra></extra>",
    )
    staff_layout(figure, p, f"Joined the SMS network · {int(members['members'].sum()):,d}", height)
    figure.update_layout(bargap=0.05, showlegend=False)
    figure.update_xaxes(type="date", showgrid=False)
    figure.update_yaxes(gridcolor=p.grid, zeroline=False, **whole_ticks(stacked_peak(frame, "at", "members")))
    if not len(frame):
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No one joined in this view")
    else:
        _span(figure, frame["at"], hourly)
    return figure


def social_against_signatures(
    social: pd.DataFrame, series: pd.DataFrame, p: Palette, *, hourly: bool, height: int = 300
) -> go.Figure:
    """Social events per platform (bars, left axis) against signatures (line, right axis).

    ``social``: at, platform, kind, events; ``series``: at, signatures (already per hour or day).
    """
    figure = go.Figure()
    per = _per(social, "events", hourly, by="platform")
    for index, (platform, rows) in enumerate(per.groupby("platform", sort=True)):
        figure.add_bar(
            x=rows["at"],
            y=rows["events"],
            name=str(platform),
            marker={"color": p.series[(index + 1) % len(p.series)], "line": {"width": 0}},
            hovertemplate=f"{platform}: %{{y:,d}}<extra></extra>",
        )
    if len(series):
        figure.add_scatter(
            x=series["at"],
            y=series["signatures"],
            name="signatures",
            yaxis="y2",
            mode="lines",
            line={"color": p.accent, "width": 2},
            hovertemplate="signatures: %{y:,d}<extra></extra>",
        )
    staff_layout(figure, p, "Social activity against signatures", height)
    figure.update_xaxes(type="date", showgrid=False)
    figure.update_yaxes(gridcolor=p.grid, zeroline=False, **whole_ticks(stacked_peak(per, "at", "events")))
    figure.update_layout(
        barmode="stack",
        bargap=0.05,
        showlegend=True,
        legend={
            "orientation": "h",
            "y": 1.02,
            "x": 1,
            "xanchor": "right",
            "yanchor": "bottom",
            "font": {"size": 13},
        },
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            **whole_ticks(stacked_peak(series, "at", "signatures")),
        },
        hovermode="x unified",
    )
    if not len(social) and not len(series):
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
        mark_empty(figure, p, "No activity in this view")
    else:
        _span(figure, pd.concat([per["at"], series["at"]]) if len(series) else per["at"], hourly)
    return figure


def _span(figure: go.Figure, times: pd.Series, hourly: bool) -> None:
    if hourly:
        span_time_axis(figure, times, bucket=timedelta(hours=1), least=LEAST_HOURS)
    else:
        span_time_axis(figure, times, bucket=timedelta(days=1), least=LEAST_DAYS)


def _per(frame: pd.DataFrame, value: str, hourly: bool, by: str | None = None) -> pd.DataFrame:
    """Hourly rows summed per day when the page draws days (UTC days, as the signatures)."""
    if hourly or not len(frame):
        keys = ["at", by] if by else ["at"]
        return frame.groupby(keys, as_index=False)[value].sum() if len(frame) else frame
    day = pd.Series(_bucket(frame["at"], hourly=False), index=frame.index)
    grouped = frame.assign(at=day)
    keys = ["at", by] if by else ["at"]
    return grouped.groupby(keys, as_index=False)[value].sum()
