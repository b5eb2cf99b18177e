"""What every chart shares: type, the layouts of a wall screen and of a staff page, the note
on a chart with nothing to show, each channel's colour, and the options Plotly is drawn with.

The wall screens' charts are read from across a room, never hovered: large type, no
toolbar, no hover labels, few gridlines, and a ``uirevision`` so a once-a-second update
redraws the data without resetting the figure.  The staff pages' charts are read close
up on a laptop: they keep hover labels and smaller type.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go

from dashboard.frames import CHANNEL_NAMES
from dashboard.style import Palette

FONT = '"Source Sans", "Source Sans Pro", "Source Sans 3", system-ui, sans-serif'
# Thousands are set apart with a narrow no-break space (12 345), as on the big numbers.
SEPARATORS = ".\u202f"
CHANNEL_ORDER = tuple(CHANNEL_NAMES.values())
# Plotly options for a screen: a still picture that updates, nothing to click.
SCREEN_CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}
# Plotly options for a staff page: hover labels, no toolbar.
STAFF_CONFIG = {"displayModeBar": False, "responsive": True}
MIN_ROWS = 6  # bars a bar chart of groups has room for, however few there are


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


def span_time_axis(figure: go.Figure, times: pd.Series, *, bucket: timedelta, least: timedelta) -> None:
    """Let a time axis span at least ``least`` around its data, bars one ``bucket`` wide.

    Left to itself, Plotly stretches a single bar (one day of data, one hour) across the
    whole width and labels the axis in fractions of a second.
    """
    stamps = pd.to_datetime(pd.Series(times))
    if not len(stamps):
        return
    first, last = stamps.min() - bucket / 2, stamps.max() + bucket / 2
    missing = least - (last - first)
    if missing > timedelta(0):
        first, last = first - missing / 2, last + missing / 2
    figure.update_xaxes(range=[first, last])
    figure.update_traces(width=bucket.total_seconds() * 1000 * 0.9, selector={"type": "bar"})


def whole_ticks(peak: float) -> dict[str, object]:
    """Axis settings for a count: whole numbers only, however small the counts are.

    With a peak of 2, Plotly puts ticks at 0, 0.5, 1, 1.5 and 2, which ``,d`` prints as
    0, 1, 1, 2, 2; under ten, a tick every one (or two) keeps each label once.
    """
    axis: dict[str, object] = {"tickformat": ",d", "rangemode": "tozero"}
    if 0 < peak < 10:
        axis.update(tick0=0, dtick=1 if peak <= 5 else 2)
    return axis


def stacked_peak(frame: pd.DataFrame, at: str, value: str) -> float:
    """The highest stack of ``value`` per ``at`` (0 for nothing)."""
    if not len(frame):
        return 0.0
    return float(frame.groupby(at)[value].sum().max())
