"""The History page under AppTest on the hand-counted data of ``tests/campaign/history/test_history.py``."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from campaign.runtime import Runtime
from campaign.settings import Settings
from dashboard import style
from dashboard.charts import history as history_charts
from tests.campaign.history.test_history import seeded  # noqa: F401 - the fixture
from tests.dashboard.test_pages import html, page
from tests.dashboard.test_staff_pages import chart, values

HISTORY = "pages/history.py"


def figure(shown: str, key: str) -> str:
    found = re.search(rf'{key}</div><div class="sf-v">([^<]*)<', shown)
    assert found, f"no figure {key}"
    return found.group(1)


def test_everything_with_the_tv_moment_and_the_map(dashboard_env: Settings, seeded: Runtime) -> None:  # noqa: F811
    at = page(HISTORY)
    shown = html(at)
    assert figure(shown, "Signatures") == "10"
    assert figure(shown, "Countries") == "5"
    assert figure(shown, "Joined the network") == "2"
    assert figure(shown, "Busiest hour") == "4"
    assert "Wed 27 Feb 2008, 21:00" in shown, "the TV hour, in Amsterdam time"
    over_time = chart(at, "chart-over-time")
    labels = [a["text"] for a in over_time["layout"]["annotations"] if a.get("text")]
    assert labels[0].startswith("Wed 27 Feb 21:00 · 4 in the hour")
    shading = chart(at, "chart-countries")["data"][0]
    z = dict(zip(shading["locations"], values(shading["customdata"]), strict=True))
    assert (z["NLD"], z["KEN"], z["BEL"], z["GBR"], z["FRA"]) == (4, 3, 1, 1, 0)
    table = at.dataframe[0].value
    assert dict(zip(table["appeal"], table["signatures"], strict=True)) == {"hassan": 5, "kenya": 3, "ali": 2}
    assert dict(zip(table["appeal"], table["outcome"], strict=True))["hassan"] == "Released"


def test_filters_come_from_the_url_and_stay_in_it(dashboard_env: Settings, seeded: Runtime) -> None:  # noqa: F811
    at = page(HISTORY, campaign="torture", channel="sms", provider="twilio", **{"from": "2008-02-01"})
    assert figure(html(at), "Signatures") == "4"
    assert at.multiselect(key="history-campaign").value == ["torture"]
    assert at.multiselect(key="history-provider").value == ["twilio"]
    today = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    assert at.date_input(key="history-dates").value == (date(2008, 2, 1), today), "open at its end"
    at.multiselect(key="history-country").select("DE").run()
    assert not at.exception
    assert figure(html(at), "Signatures") == "1"
    assert at.query_params["country"] == ["DE"] or at.query_params["country"] == "DE"
    assert at.query_params["campaign"] in ("torture", ["torture"])


def test_one_day_is_drawn_per_hour(dashboard_env: Settings, seeded: Runtime) -> None:  # noqa: F811
    at = page(HISTORY, **{"from": "2008-02-27", "to": "2008-02-27"}, outcome="good")
    assert figure(html(at), "Signatures") == "3"
    bars = chart(at, "chart-over-time")["data"][0]
    assert sum(values(bars["y"])) == 3 and len(values(bars["y"])) == 1, "hassan's three in the 21:00 hour"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2008-13-01"}, "from='2008-13-01' is not a date"),
        ({"appeal": "nobody"}, "no appeal 'nobody' in the data"),
        ({"country": "Netherlands"}, "country='NETHERLANDS' is not a valid country"),
        ({"outcome": "freed"}, "outcome='freed' is not one of good, bad, none"),
        ({"campaign": "<script>"}, "campaign='<script>' is not a valid campaign"),
    ],
)
def test_bad_url_values_are_named_never_a_traceback(
    dashboard_env: Settings,
    seeded: Runtime,  # noqa: F811
    query: dict[str, str],
    message: str,
) -> None:
    at = page(HISTORY, **query)
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert message in warnings
    assert figure(html(at), "Signatures") == "10", "the rest of the view as if the value were not there"


def test_exports_are_offered_and_bounded(dashboard_env: Settings, seeded: Runtime) -> None:  # noqa: F811
    at = page(HISTORY, appeal="hassan")
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels == [
        "Figures per hour (CSV)",
        "Figures per hour (Excel)",
        "Signatures (CSV)",
        "Signatures (Excel)",
    ]
    assert not any(b.proto.disabled for b in buttons)
    assert "campaign export signatures --appeal hassan --format xlsx" in " ".join(c.value for c in at.caption)


def test_charts_of_an_empty_view_say_so() -> None:
    p = style.DARK
    empty = pd.DataFrame({"at": pd.Series([], dtype="datetime64[ns, UTC]"), "signatures": []})
    texts = [
        a.text for a in history_charts.signatures_over_time(empty, empty, p, hourly=True).layout.annotations
    ]
    assert texts == ["No signatures in this view"]
    channels = pd.DataFrame(columns=["channel", "provider", "signatures"])
    assert history_charts.channel_bars(channels, p).layout.annotations[0].text == "No signatures in this view"


@pytest.mark.parametrize(
    ("times", "hourly", "least"),
    [
        (["2026-12-01 14:00"], True, timedelta(hours=12)),  # the first hour of a new installation
        (["2026-12-01 00:00"], False, timedelta(days=7)),  # its first day, drawn per day
        (["2026-11-30 23:00", "2026-12-01 01:00"], True, timedelta(hours=12)),
        (pd.date_range("2023-01-01", "2026-12-01", freq="D").strftime("%Y-%m-%d").tolist(), False, None),
    ],
    ids=["one hour", "one day", "three hours", "years"],
)
def test_time_charts_read_well_from_the_first_hour_to_years(
    times: list[str], hourly: bool, least: timedelta | None
) -> None:
    """One bar never fills the chart (Plotly would, with ticks in fractions of a second)."""
    p = style.DARK
    # As the page gets them: hours or UTC days, shown in the organisation's zone.
    at = pd.to_datetime(pd.Series(times)).dt.tz_localize("UTC").dt.tz_convert("Europe/Amsterdam")
    series = pd.DataFrame({"at": at, "signatures": range(1, len(at) + 1)})
    members = series.rename(columns={"signatures": "members"})
    social = series.assign(platform="facebook", kind="join").rename(columns={"signatures": "events"})
    bucket = timedelta(hours=1) if hourly else timedelta(days=1)
    for figure in (
        history_charts.signatures_over_time(series, series.iloc[0:0], p, hourly=hourly),
        history_charts.members_chart(members, p, hourly=hourly),
        history_charts.social_against_signatures(social, series, p, hourly=hourly),
    ):
        start, end = (pd.Timestamp(x) for x in figure.layout.xaxis.range)
        assert start <= at.min() and at.max() <= end
        assert end - start >= (least or (at.max() - at.min()))
        bars = [trace for trace in figure.data if trace.type == "bar"]
        assert bars and all(bar.width == bucket.total_seconds() * 1000 * 0.9 for bar in bars)
        # Counts of one to three: each whole number labelled once (no 0, 1, 1, 2, 2).
        assert figure.layout.yaxis.dtick == (1 if len(times) <= 5 else None)


def test_a_view_survives_the_round_trip_through_its_url() -> None:
    from dashboard.params import history_params, history_query

    filters = history_params(
        {"from": ["2008-03-31"], "to": ["2008-01-01"], "appeal": ["Hassan,ali", "hassan"], "country": ["nl"]}
    ).filters
    assert (filters.start, filters.end) == (date(2008, 1, 1), date(2008, 3, 31)), (
        "a backwards range is the same range"
    )
    assert filters.appeals == ("hassan", "ali") and filters.countries == ("NL",)
    query = history_query(filters)
    assert query == {
        "from": "2008-01-01",
        "to": "2008-03-31",
        "campaign": None,
        "appeal": "hassan,ali",
        "channel": None,
        "provider": None,
        "country": "NL",
        "platform": None,
        "outcome": None,
    }
    again = history_params({k: [v] for k, v in query.items() if v is not None})
    assert again.filters == filters and not again.problems
