"""The Messages page's charts: pure functions from DataFrames to Plotly figures."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import mark_empty, staff_layout
from dashboard.style import Palette

KIND_LABELS = {
    "alert": "Alerts",
    "thank_you": "Thank-yous",
    "outcome": "Outcome messages",
    "help": "Help replies",
    "opt_out_confirmation": "Opt-out confirmations",
    "reply": "Other replies",
    "milestone": "Milestone notes to leads",
}
STATUS_ORDER = ("delivered", "sent", "sending", "queued", "cancelled", "unknown", "failed")


def status_colors(p: Palette) -> dict[str, str]:
    return {
        "delivered": p.good,
        "sent": p.accent,
        "sending": "#7FB3D5",
        "queued": p.muted,
        "cancelled": p.border,
        "unknown": "#E0A800",  # in doubt: a lead decides
        "failed": p.alert,
    }


def outbox_chart(frame: pd.DataFrame, p: Palette, *, height: int = 300) -> go.Figure:
    """Texts per kind, stacked by status.  ``frame``: kind, status, texts."""
    figure = go.Figure()
    colors = status_colors(p)
    kinds = [k for k in KIND_LABELS if k in set(frame["kind"])] if len(frame) else []
    for status in STATUS_ORDER:
        rows = frame[frame["status"] == status]
        if not len(rows):
            continue
        figure.add_bar(
            y=[KIND_LABELS.get(k, k) for k in rows["kind"]],
            x=rows["texts"],
            name=status,
            orientation="h",
            marker={"color": colors[status], "line": {"width": 0}},
            hovertemplate=f"%{{y}}: %{{x:,}} {status}<extra></extra>",
        )
    staff_layout(figure, p, "Outbox by kind and status", height)
    figure.update_layout(
        barmode="stack", bargap=0.35, showlegend=True, legend={"orientation": "h", "y": -0.15}
    )
    figure.update_yaxes(
        categoryorder="array", categoryarray=[KIND_LABELS[k] for k in kinds][::-1], showgrid=False
    )
    if not len(frame):
        figure.update_yaxes(visible=False)
        figure.update_xaxes(visible=False)
        mark_empty(figure, p, "Nothing sent yet")
    return figure


def send_rate_chart(frame: pd.DataFrame, p: Palette, tz: ZoneInfo, *, height: int = 300) -> go.Figure:
    """Texts sent per minute.  ``frame``: minute (UTC), sent."""
    figure = go.Figure()
    minutes = pd.to_datetime(frame["minute"], utc=True).dt.tz_convert(tz) if len(frame) else []
    figure.add_bar(
        x=minutes,
        y=frame["sent"] if len(frame) else [],
        marker={"color": p.accent, "line": {"width": 0}},
        hovertemplate="%{x|%H:%M}: %{y:,} sent<extra></extra>",
    )
    staff_layout(figure, p, "Sent per minute, last hour", height)
    figure.update_layout(showlegend=False, bargap=0.1)
    figure.update_yaxes(rangemode="tozero")
    if not len(frame) or int(frame["sent"].sum()) == 0:
        mark_empty(figure, p, "Nothing sent in the last hour")
    return figure


def opt_outs_chart(frame: pd.DataFrame, p: Palette, *, height: int = 300) -> go.Figure:
    """Opt-outs per day.  ``frame``: day, opt_outs."""
    figure = go.Figure()
    figure.add_bar(
        x=frame["day"] if len(frame) else [],
        y=frame["opt_outs"] if len(frame) else [],
        marker={"color": p.alert, "line": {"width": 0}},
        hovertemplate="%{x|%d %b}: %{y:,} opted out<extra></extra>",
    )
    staff_layout(figure, p, "Opt-outs per day, last 30 days", height)
    figure.update_layout(showlegend=False, bargap=0.2)
    figure.update_yaxes(rangemode="tozero")
    if not len(frame) or int(frame["opt_outs"].sum()) == 0:
        mark_empty(figure, p, "No opt-outs")
    return figure
