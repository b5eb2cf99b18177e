"""The Live page's charts, for a wall screen: signatures per minute, channels, top countries.

Read from across a room, never hovered (``common.screen_layout``).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import (
    channel_color,
    channel_rank,
    mark_empty,
    screen_layout,
    stacked_peak,
    whole_ticks,
)
from dashboard.frames import grouped
from dashboard.style import Palette


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
    peak = stacked_peak(frame, "minute", "signatures")
    figure.update_yaxes(gridcolor=p.grid, zeroline=False, nticks=5, **whole_ticks(peak))
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
