"""The Live page's board: everything it shows for one selection from one read, except the clock.

Pure, like the charts it draws: built from the appeals a screen picked, their campaigns'
social figures, the campaigns' names and today's demonstrations.  ``dashboard.data``
reads those and shares one build per read among the screens that show the same appeals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from campaign.live.figures import CampaignFigures
from dashboard import blocks, frames, style, tables
from dashboard.charts import live as live_charts
from dashboard.frames import Picked
from dashboard.params import Selection
from dashboard.style import Palette


@dataclass(frozen=True)
class Board:
    """Everything the Live page shows for one selection from one read, except the clock.

    The strip of social figures and today's demonstrations is built with the charts,
    since the chart heights depend on how many lines the strip has.
    """

    picked: Picked
    title: str
    subtitle: str
    strip: str  # HTML; "" when no shown campaign has social figures or a demonstration today
    top: int  # height of the top charts
    bottom: int  # height of the bottom chart (and the ticker's panel)
    minutes: go.Figure
    channels: go.Figure
    countries: go.Figure
    ticker: pd.DataFrame


def shown_campaigns(picked: Picked) -> tuple[str, ...]:
    """The campaigns of the picked appeals, in their order: the ones the strip speaks of."""
    return tuple(dict.fromkeys(a.campaign for a in picked.appeals if a.campaign))


def build_board(
    picked: Picked,
    selection: Selection,
    figures: Iterable[CampaignFigures],
    today: pd.DataFrame,
    names: Mapping[str, str],
    p: Palette,
    tz: ZoneInfo,
) -> Board:
    """The board of the ``picked`` appeals of ``selection``.

    ``figures``: the social figures of their campaigns; ``today``: those campaigns'
    demonstrations today, as ``tables.on_day``; ``names``: campaign slug -> name.
    """
    appeals = picked.appeals
    campaigns = shown_campaigns(picked)
    rows = tables.strip_rows(campaigns, figures, today, names)
    top, bottom = style.live_heights(len(rows))
    title, subtitle = frames.describe(picked, selection, names)
    return Board(
        picked=picked,
        title=title,
        subtitle=subtitle,
        strip=blocks.strip(rows, named=len(campaigns) > 1),
        top=top,
        bottom=bottom,
        minutes=live_charts.per_minute_chart(frames.per_minute(appeals, tz), p, height=top),
        channels=live_charts.channel_chart(frames.channels(appeals), p, height=top),
        countries=live_charts.country_chart(frames.countries(appeals), p, height=bottom),
        ticker=frames.ticker(appeals, tz),
    )
