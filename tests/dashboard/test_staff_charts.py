"""The staff pages' pure parts: tables from the core's rows, charts from tables, form values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from campaign.errors import BadRequest
from campaign.live.figures import AppealFigures, CampaignFigures
from dashboard import blocks, forms, regions, style, tables
from dashboard.charts import staff as charts
from dashboard.params import MapParams, date_range, map_params, map_query

TZ = ZoneInfo("Europe/Amsterdam")
P = style.DARK
DAY = date(2008, 3, 1)


def row(
    i: int, city: str, country: str, day: date, attendance: int | None, **extra: object
) -> dict[str, object]:
    return {
        "id": i,
        "campaign": "kenya",
        "title": f"Reach Out for Kenya: {city}",
        "city": city,
        "country": country,
        "latitude": float(i),
        "longitude": float(-i),
        "starts_at": datetime.combine(day, time(13), UTC),
        "attendance": attendance,
        "organiser": "Amnesty section",
        "links": [],
        "photos": [],
        **extra,
    }


ROWS = [
    row(1, "Nairobi", "KE", DAY, 2500),
    row(2, "London", "GB", DAY + timedelta(days=1), 600),
    row(
        3, "Mombasa", "KE", DAY + timedelta(days=3), None, photos=["https://live.staticflickr.com/1/a_q.jpg"]
    ),
]


def demos() -> pd.DataFrame:
    return tables.demonstrations(ROWS, TZ)


def test_demonstrations_in_local_time_with_iso3() -> None:
    frame = demos()
    assert list(frame["iso3"]) == ["KEN", "GBR", "KEN"]
    assert frame.loc[0, "starts_at"] == datetime(2008, 3, 1, 14, 0)  # 13:00 UTC is 14:00 in Amsterdam
    assert list(tables.by_country(frame).itertuples(index=False)) == [
        ("GBR", "United Kingdom", 1, 600),
        ("KEN", "Kenya", 2, 2500),
    ]
    assert len(tables.between(frame, DAY + timedelta(days=1), None)) == 2
    assert tables.days(frame) == [DAY + timedelta(days=n) for n in range(4)]
    # A long range steps from one day with a demonstration to the next.
    assert tables.days(frame, DAY - timedelta(days=400), DAY + timedelta(days=3), limit=10) == sorted(
        set(frame["day"])
    )


def test_the_map_draws_every_country_and_replays_day_by_day() -> None:
    frame = demos()
    steps = tables.days(frame)
    figure = charts.demonstration_map(frame, P, shade="demonstrations", days=steps)
    shading, markers, photos = figure.data
    assert not len(photos.lat), "no Flickr photos given"
    assert shading.type == "choropleth" and len(shading.locations) > 200  # every country is a shape
    z = dict(zip(shading.locations, shading.customdata, strict=True))
    assert (z["KEN"], z["GBR"], z["NLD"]) == (2, 1, 0)
    assert shading.z[list(shading.locations).index("KEN")] == shading.zmax  # the most is the brightest
    assert list(markers.lat) == [1.0, 2.0, 3.0]
    assert list(markers.marker.size) == [2500, 600, 0]  # unknown attendance: the smallest marker
    assert (
        "2\u202f500 people" in markers.customdata[0][3] and markers.customdata[2][3] == "attendance unknown"
    )
    assert [f.name for f in figure.frames] == [d.isoformat() for d in steps]
    first = figure.frames[0].data
    assert len(first[1].lat) == 1 and sum(first[0].customdata) == 1  # the first day: Nairobi only
    assert first[0].zmax == shading.zmax  # one colour scale for the whole replay
    assert figure.layout.sliders[0].active == len(steps) - 1  # opens on the last day
    assert charts.MAP_CONFIG["topojsonURL"] == "/app/static/topojson/"


def test_a_country_frame_shades_its_subdivisions() -> None:
    frame = tables.demonstrations(
        [
            row(1, "Nairobi", "KE", DAY, 2500, latitude=-1.29, longitude=36.82),
            row(2, "London", "GB", DAY, 600, latitude=51.51, longitude=-0.13),
            row(3, "Mombasa", "KE", DAY + timedelta(days=1), None, latitude=-4.05, longitude=39.67),
        ],
        TZ,
    )
    kenya = regions.country_frame("Kenya")
    assert (kenya.key, kenya.name, kenya.projection) == ("KE", "Kenya", "mercator")
    assert kenya.lataxis[0] < -4.7 < 5.1 < kenya.lataxis[1]
    assert kenya.lonaxis[0] < 33.9 < 41.9 < kenya.lonaxis[1]
    figure = charts.demonstration_map(regions.in_frame(kenya, frame), P, frame=kenya, days=tables.days(frame))
    shading = figure.data[0]
    assert shading.featureidkey == "id" and len(shading.geojson["features"]) == 8
    counts = dict(zip(shading.locations, shading.customdata, strict=True))
    assert (counts["KE-110"], counts["KE-300"], sum(counts.values())) == (1, 1, 2), "London is not in Kenya"
    first = figure.frames[0].data[0]
    assert dict(zip(shading.locations, first.customdata, strict=True))["KE-300"] == 0, "day one: Nairobi only"
    assert first.geojson is None, "the shapes are sent once, not with every day of the replay"
    geo = figure.layout.geo
    assert (geo.lataxis.range, geo.lonaxis.range) == (kenya.lataxis, kenya.lonaxis)
    assert list(regions.in_frame(regions.region_frame("Europe"), frame)["city"]) == ["London"]
    assert len(regions.in_frame(regions.region_frame("world"), frame)) == 3
    photos = tables.photos(
        [
            {"campaign": "kenya", "title": title, "url": "https://flic.kr/p/x", "thumbnail": None,
             "latitude": lat, "longitude": lon, "occurred_at": datetime(2008, 3, 1, tzinfo=UTC)}
            for title, lat, lon in [("Kisumu", -0.09, 34.77), ("Kampala", 0.35, 32.58), ("Lamu", -2.27, 40.9)]
        ],
        TZ,
    )  # fmt: skip
    assert list(regions.in_frame(kenya, photos)["title"]) == ["Kisumu", "Lamu"], "Kampala is in Uganda"
    assert len(regions.in_frame(kenya, photos.iloc[:0])) == 0
    with pytest.raises(BadRequest, match="unknown region 'mars'"):
        regions.region_frame("mars")
    russia = regions.country_frame("RU")  # across the antimeridian: its main part, not the globe
    assert russia.lonaxis[1] - russia.lonaxis[0] < 220 and russia.lonaxis[1] > 180


def test_the_map_shades_by_signatures() -> None:
    appeals = [
        AppealFigures(slug="kenya", campaign="kenya", countries=[{"country": "KE", "signatures": 7}]),
        AppealFigures(slug="other", campaign="kenya", countries=[{"country": "KE", "signatures": 3}]),
        AppealFigures(slug="hassan", campaign="torture", countries=[{"country": "NL", "signatures": 9}]),
    ]
    signatures = tables.signatures_by_country(appeals, "kenya")
    assert signatures.to_dict("records") == [{"iso3": "KEN", "name": "Kenya", "value": 10}]
    figure = charts.demonstration_map(demos(), P, shade="signatures", signatures=signatures)
    z = dict(zip(figure.data[0].locations, figure.data[0].customdata, strict=True))
    assert (z["KEN"], z["NLD"], z["GBR"]) == (10, 0, 0)
    assert not figure.frames  # no days given: no replay


def test_an_empty_map_still_draws() -> None:
    empty = tables.demonstrations([], TZ)
    figure = charts.demonstration_map(empty, P, days=tables.days(empty))
    assert figure.to_dict() and figure.layout.annotations[0].text == "No demonstrations in this view"


def test_demonstration_list_shows_photos_and_links_only_when_given() -> None:
    frame = tables.demonstrations(
        [row(1, "Oslo", "NO", DAY, 120, links=["https://example.org/oslo?a=1&b=2"])], TZ
    )
    shown = blocks.demonstration_list(frame)
    assert "<img" not in shown and 'href="https://example.org/oslo?a=1&amp;b=2"' in shown
    assert ">example.org<" in shown and "120 people" in shown
    with_photo = blocks.demonstration_list(demos())
    assert with_photo.count("<img") == 1 and 'loading="lazy"' in with_photo


OUTCOMES = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "slug": ["a", "b", "c", "d", "e"],
        "title": ["A", "B", "C", "D", "E"],
        "country": ["TN", "TN", "IR", "CD", "EG"],
        "status": ["outcome", "closed", "outcome", "open", "open"],
        "opened_at": pd.to_datetime(["2025-01-01"] * 5, utc=True),
        "campaign": ["torture", "torture", "torture", "kenya", "kenya"],
        "kind": ["released", "no-change", "no-change", "worsened", None],
        "good": [True, False, True, False, None],  # c: "no change", judged good by staff
        "occurred_at": pd.to_datetime(
            ["2025-01-21", "2025-03-01", "2025-02-01", "2025-01-11", None], utc=True
        ),
        "outcome_id": [1, 2, 3, 4, None],
        "days_to_outcome": [20.0, 59.0, 31.0, 10.0, None],
        "label": ["Released", "No change", "No change", "Worsened", None],
    }
)


def test_outcome_tables_match_hand_computed_figures() -> None:
    kinds = tables.outcome_kinds(OUTCOMES)
    assert list(kinds.itertuples(index=False)) == [
        ("released", "Released", True, 1),
        ("no-change", "No change", True, 1),
        ("no-change", "No change", False, 1),
        ("worsened", "Worsened", False, 1),
    ]
    by_campaign = tables.shares(OUTCOMES, "campaign", {"torture": "Campaign Against Torture"})
    assert list(by_campaign[["name", "appeals", "good"]].itertuples(index=False)) == [
        ("Campaign Against Torture", 3, 2),
        ("kenya", 1, 0),
    ]
    by_country = tables.shares(OUTCOMES, "country", tables.country_names(OUTCOMES))
    assert by_country.loc[by_country["key"] == "CD", "name"].item() == "DR Congo"
    assert tables.waiting_count(OUTCOMES) == 1
    timeline = tables.timeline(OUTCOMES, TZ)
    assert list(timeline["appeal"]) == ["d", "a", "c", "b"]


def test_outcome_charts() -> None:
    kinds = charts.outcome_kind_chart(tables.outcome_kinds(OUTCOMES), P)
    assert {bar.name: sum(bar.x) for bar in kinds.data} == {"good": 2, "not good": 2}
    shares = charts.good_share_chart(tables.shares(OUTCOMES, "campaign"), P, title="By campaign")
    assert [round(x) for x in shares.data[0].x] == [67, 0]
    days = charts.days_to_outcome_chart(tables.timeline(OUTCOMES, TZ), P)
    assert sorted(x for trace in days.data for x in trace.x) == [10.0, 20.0, 31.0, 59.0]
    timeline = charts.outcome_timeline_chart(tables.timeline(OUTCOMES, TZ), P)
    assert sum(len(trace.x) for trace in timeline.data) == 4
    # One outcome still reads on a scale of months, not of fractions of a second.
    single = charts.outcome_timeline_chart(tables.timeline(OUTCOMES.iloc[0:1], TZ), P)
    start, end = (pd.Timestamp(x) for x in single.layout.xaxis.range)
    assert end - start >= timedelta(days=90)
    nothing = OUTCOMES.iloc[0:0]
    for figure in (
        charts.outcome_kind_chart(tables.outcome_kinds(nothing), P),
        charts.good_share_chart(tables.shares(nothing, "campaign"), P, title="x"),
        charts.days_to_outcome_chart(tables.timeline(nothing, TZ), P),
        charts.outcome_timeline_chart(tables.timeline(nothing, TZ), P),
    ):
        assert figure.layout.annotations[0].text == "No outcomes yet"


def test_the_live_strip_per_campaign() -> None:
    figures = CampaignFigures(
        "kenya",
        social={"facebook": {"join": 420, "post": 90}, "flickr": {"photo": 60}},
        visits={"facebook": 150, "direct": 850},
    )
    assert tables.social_summary(figures) == {
        "joins": 420,
        "posts": 90,
        "photos": 60,
        "visits": 1000,
        "from_social": 0.15,
        "top_referrer": "facebook",
    }
    today = tables.demonstrations([row(1, "Nairobi", "KE", DAY, 2500)], TZ)
    rows = tables.strip_rows(["torture", "kenya"], [figures, CampaignFigures("torture")], today, {})
    assert [(r.campaign, r.name, len(r.today)) for r in rows] == [("kenya", "Kenya", 1)]
    html = blocks.strip(rows, named=False)
    assert ">420<" in html and ">15%" in html and "via Facebook" in html
    assert "Demonstrations today · 1" in html and "<b>14:00</b> Nairobi" in html
    assert blocks.strip([], named=False) == ""
    only_today = tables.strip_rows(["kenya"], [], today, {"kenya": "Reach Out for Kenya"})
    assert "only-today" in blocks.strip(only_today, named=True)


def test_live_heights_fit_one_screen() -> None:
    assert style.live_heights(0) == (372, 332)
    for rows in (1, 2):
        top, bottom = style.live_heights(rows)
        assert (372 - top) + (332 - bottom) == style.STRIP_ROW * rows


def test_map_parameters_round_trip() -> None:
    params = map_params({"campaign": ["Kenya"], "from": ["2008-03-31"], "to": ["2008-02-27"], "shade": ["x"]})
    assert params == MapParams("kenya", date(2008, 2, 27), date(2008, 3, 31), "demonstrations")
    assert map_query(params) == {
        "campaign": "kenya", "from": "2008-02-27", "to": "2008-03-31", "shade": None,
        "region": None, "country": None,
    }  # fmt: skip
    typed = map_params({"region": [" Middle-East "], "country": ["ke"]})
    assert (typed.region, typed.country) == ("middle-east", "ke")  # the page checks them, naming a bad one
    assert map_params({"from": ["yesterday"]}).start is None
    assert (
        date_range((DAY,)) == (DAY, None) and date_range(DAY) == (DAY, DAY) and date_range(()) == (None, None)
    )


def test_form_values_become_core_inputs() -> None:
    given = forms.demonstration_input(
        campaign="kenya",
        title="Vigil",
        city="Nairobi",
        country="KE",
        day=DAY,
        at=time(18),
        tz=TZ,
        attendance=250.0,
        links="https://a.example\n https://b.example",
    )
    assert given.starts_at == datetime(2008, 3, 1, 17, 0, tzinfo=UTC)
    assert given.links == ["https://a.example", "https://b.example"] and given.attendance == 250
    with pytest.raises(BadRequest, match="both latitude and longitude"):
        forms.demonstration_input(
            campaign="kenya", title="x", city="y", country="KE", day=DAY, at=time(9), tz=TZ, latitude=1.0
        )
    with pytest.raises(BadRequest, match="campaign"):
        forms.demonstration_input(
            campaign=None, title="x", city="y", country="KE", day=DAY, at=time(9), tz=TZ
        )
    stored = {"city": "Nairobi", "country": "KE", "latitude": -1.28333, "longitude": 36.81667}
    moved = forms.changes(stored, forms.demonstration_input(
        campaign="kenya", title="x", city="Mombasa", country="KE", day=DAY, at=time(9), tz=TZ,
        latitude=-1.2833, longitude=36.8167,
    ))  # fmt: skip
    assert (moved["latitude"], moved["longitude"]) == (None, None)  # looked up for the new city
    kept = forms.changes(stored, forms.demonstration_input(
        campaign="kenya", title="x", city="Nairobi", country="Kenya", day=DAY, at=time(9), tz=TZ,
        latitude=-1.3, longitude=36.9,
    ))  # fmt: skip
    assert (kept["latitude"], kept["longitude"]) == (-1.3, 36.9)


def test_the_ticker_shows_minutes_and_marks_the_current_one() -> None:
    frame = pd.DataFrame(
        [
            {
                "at": datetime(2026, 12, 3, 22, 4),
                "number": "+31 6 ••• ••• 78",
                "country": "Netherlands",
                "channel": "SMS",
                "appeal": "Hassan",
            },
            {
                "at": datetime(2026, 12, 3, 22, 3),
                "number": "+49 1 ••• ••• 21",
                "country": "Germany",
                "channel": "SMS",
                "appeal": "Hassan",
            },
        ]
    )
    html = blocks.ticker(frame, datetime(2026, 12, 3, 22, 4, 50), show_appeal=False)
    assert "<td class='t'>22:04</td>" in html and "<td class='t'>22:03</td>" in html
    assert html.count('class="fresh"') == 1  # this minute's, not the one before
    assert ":00<" not in html, "no seconds"
