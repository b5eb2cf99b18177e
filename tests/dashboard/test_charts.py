"""Charts are pure functions from DataFrames to figures; the on-air number never goes down."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from campaign.live.figures import AppealFigures
from dashboard import counter, frames, style
from dashboard.charts import live as charts

TZ = ZoneInfo("Europe/Amsterdam")
APPEAL = AppealFigures(
    slug="hassan",
    title="Stop the torture of Hassan",
    signatures=12,
    channels={"sms": 10, "web": 2},
    countries=[
        {"country": "NL", "name": "Netherlands", "signatures": 9},
        {"country": "BE", "name": "Belgium", "signatures": 3},
    ],
    per_minute=[
        {"minute": "2026-11-22T03:00+00:00", "signatures": 4},
        {"minute": "2026-11-22T03:01+00:00", "signatures": 8},
    ],
)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_charts_draw_the_frames(theme: str) -> None:
    palette = style.palette(theme)
    minutes = charts.per_minute_chart(frames.per_minute([APPEAL], TZ), palette, height=300)
    assert list(minutes.data[0].y) == [4, 8]
    channels = charts.channel_chart(frames.channels([APPEAL]), palette, height=300)
    assert sorted(channels.data[0].values) == [2, 10]
    countries = charts.country_chart(frames.countries([APPEAL]), palette, height=300)
    assert set(countries.data[0].x) == {9, 3}


def test_empty_frames_still_draw() -> None:
    empty = AppealFigures(slug="new")
    palette = style.palette("dark")
    for figure in (
        charts.per_minute_chart(frames.per_minute([empty], TZ), palette, height=300),
        charts.channel_chart(frames.channels([empty]), palette, height=300),
        charts.country_chart(frames.countries([empty]), palette, height=300),
    ):
        assert figure.to_dict()


@pytest.mark.parametrize(
    ("shown", "current", "expected"),
    [(None, None, None), (None, 5, 5), (5, 7, 7), (7, 5, 7), (7, None, 7)],
)
def test_the_number_never_goes_back(shown: int | None, current: int | None, expected: int | None) -> None:
    assert counter.never_lower(shown, current) == expected


def test_per_minute_without_appeals_draws_no_time_axis() -> None:
    """A paused screen with nothing read yet must not draw hours of empty ten-minute ticks."""
    figure = charts.per_minute_chart(frames.per_minute([], TZ), style.palette("dark"), height=300)
    assert figure.layout.xaxis.showticklabels is False
    assert [a.text for a in figure.layout.annotations] == ["No appeals to show"]


def test_per_minute_legend_follows_the_cards() -> None:
    other = AppealFigures(slug="kenya", title="Reach Out for Kenya", per_minute=APPEAL.per_minute)
    figure = charts.per_minute_chart(frames.per_minute([APPEAL, other], TZ), style.palette("dark"))
    assert [trace.name for trace in figure.data] == ["Stop the torture of Hassan", "Reach Out for Kenya"]
    assert figure.layout.legend.traceorder == "normal"


@pytest.mark.parametrize(("counts", "dtick"), [([1, 2], 1), ([3, 4], 1), ([4, 8], 2), ([40, 80], None)])
def test_small_counts_are_labelled_once_each(counts: list[int], dtick: int | None) -> None:
    """Two signatures must not read 0, 1, 1, 2, 2 (Plotly's half steps printed as whole numbers)."""
    first = AppealFigures(
        slug="hassan",
        title="Hassan",
        per_minute=[{"minute": "2026-11-22T03:00+00:00", "signatures": counts[0]}],
    )
    other = AppealFigures(
        slug="kenya",
        title="Kenya",
        per_minute=[{"minute": "2026-11-22T03:00+00:00", "signatures": counts[1] - counts[0]}],
    )
    figure = charts.per_minute_chart(frames.per_minute([first, other], TZ), style.palette("dark"))
    assert figure.layout.yaxis.tickformat == ",d"
    assert figure.layout.yaxis.dtick == dtick  # the stack's height decides, not one appeal's bar
