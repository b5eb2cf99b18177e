"""Map, Outcomes and the Live page's strip under AppTest, on the test's own database and Redis.

What the pages show is checked against what the test stored through the core
(``campaign.activity.demonstrations.save``, ``campaign.appeals.outcomes.record``,
``campaign.activity.social``),
and the forms against what they store.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from campaign.activity import demonstrations, social
from campaign.activity.demonstrations import DemonstrationInput
from campaign.activity.social import SocialInput
from campaign.appeals import outcomes
from campaign.appeals import registry as appeals
from campaign.appeals.registry import AppealSummary
from campaign.runtime import Runtime
from campaign.settings import Settings, get_settings
from tests.conftest import post_twilio, twilio_form
from tests.dashboard.test_pages import html, page

TZ = ZoneInfo("Europe/Amsterdam")  # the dashboard_env fixture's time zone
PHOTO = "https://live.staticflickr.com/65535/candle_q.jpg"


def today() -> date:
    return datetime.now(TZ).date()


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), TZ)


@pytest.fixture
def marches(runtime: Runtime, kenya: AppealSummary) -> list[dict[str, Any]]:
    """Three demonstrations of the Kenya campaign: two days ago, yesterday and today."""
    demonstrations.save(
        runtime.engine,
        [
            DemonstrationInput(
                "kenya", "Vigil in Nairobi", "Nairobi", "KE", at_noon(today() - timedelta(days=2)),
                attendance=2500, organiser="Kenyan civil society", links=["https://example.org/nairobi"],
            ),
            DemonstrationInput(
                "kenya", "March in London", "London", "GB", at_noon(today() - timedelta(days=1)),
                attendance=600,
            ),
            DemonstrationInput(
                "kenya", "Candles in Amsterdam", "Amsterdam", "NL", at_noon(today()), photos=[PHOTO]
            ),
        ],
    )  # fmt: skip
    return demonstrations.listing(runtime.engine, "kenya")


def chart(at: AppTest, key: str) -> dict[str, Any]:
    """A chart's Plotly figure as the browser gets it, arrays decoded."""
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(key) or key in element.proto.id:
            return dict(json.loads(element.proto.spec))
    raise AssertionError(f"no chart {key}")


def values(value: Any) -> list[Any]:
    """A Plotly array: a list, or the typed array (base64) Plotly sends numbers as."""
    if isinstance(value, dict) and "bdata" in value:
        return list(np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]))
    return list(value)


def sign_kenya(client: TestClient, runtime: Runtime) -> None:
    for i, sender in enumerate(["+31612345678", "+254712345678", "+254712345679"]):
        assert post_twilio(client, twilio_form(f"SMk{i}", sender, "JA KENYA")).status_code == 200
    runtime.live.refresh(runtime.engine, runtime.vault)


# -- Map ----------------------------------------------------------------------------------------------


def test_map_shows_the_demonstrations(dashboard_env: Settings, marches: list[dict[str, Any]]) -> None:
    at = page("pages/map.py", campaign="kenya")
    shown = html(at)
    assert re.search(r'Demonstrations</div><div class="sf-v">3<', shown)
    assert re.search(r'Countries</div><div class="sf-v">3<', shown)
    assert "3\u202f100" in shown, "2 500 + 600 people; Amsterdam's count is unknown"
    assert "Vigil in Nairobi" in shown and ">example.org<" in shown and f'src="{PHOTO}"' in shown

    figure = chart(at, "chart-map")
    shading, markers, photos = figure["data"]
    assert photos["lat"] == [] or not values(photos["lat"]), "no Flickr photos stored"
    z = dict(zip(shading["locations"], values(shading["customdata"]), strict=True))
    assert (z["KEN"], z["GBR"], z["NLD"], z["FRA"]) == (1, 1, 1, 0)
    assert sorted(round(v, 1) for v in values(markers["lat"])) == [-1.3, 51.5, 52.4]
    assert [m[0] for m in markers["customdata"]] == [
        "Vigil in Nairobi",
        "March in London",
        "Candles in Amsterdam",
    ]
    assert "13:00" not in markers["customdata"][0][2] and "12:00" in markers["customdata"][0][2]  # local time
    assert [f["name"] for f in figure["frames"]] == [
        (today() - timedelta(days=n)).isoformat() for n in (2, 1, 0)
    ]


def test_map_filters_come_from_the_url(
    dashboard_env: Settings, marches: list[dict[str, Any]], client: TestClient, runtime: Runtime
) -> None:
    since = (today() - timedelta(days=1)).isoformat()
    at = page("pages/map.py", campaign="kenya", **{"from": since})
    assert re.search(r'Demonstrations</div><div class="sf-v">2<', html(at))
    assert (at.query_params["from"], at.query_params["campaign"]) == (since, "kenya"), "kept in the URL"

    sign_kenya(client, runtime)
    shading = chart(page("pages/map.py", campaign="kenya", shade="signatures"), "chart-map")["data"][0]
    z = dict(zip(shading["locations"], values(shading["customdata"]), strict=True))
    assert (z["KEN"], z["NLD"], z["GBR"]) == (2, 1, 0), "signatures by country, not demonstrations"


def test_map_frames_a_region_from_the_url(dashboard_env: Settings, marches: list[dict[str, Any]]) -> None:
    at = page("pages/map.py", campaign="kenya", region="Europe")
    assert re.search(r'Demonstrations</div><div class="sf-v">2<', html(at)), "London, Amsterdam: no Nairobi"
    assert at.query_params["region"] == "europe"
    geo = chart(at, "chart-map")["layout"]["geo"]
    assert (geo["projection"]["type"], geo["lataxis"]["range"], geo["lonaxis"]["range"]) == (
        "mercator", [34, 71], [-25, 45],
    )  # fmt: skip
    figure = chart(page("pages/map.py", campaign="kenya", region="africa"), "chart-map")
    assert [round(v, 1) for v in values(figure["data"][1]["lat"])] == [-1.3]
    assert len(figure["frames"]) == 3 and all(len(f["data"]) == 3 for f in figure["frames"]), "replay"

    at.selectbox(key="map-area-europe").set_value("asia").run()
    assert not at.exception and at.query_params["region"] == "asia", "a region picked is kept in the URL"
    assert chart(at, "chart-map")["layout"]["geo"]["lonaxis"]["range"] == [25, 150]


def test_map_shades_a_countrys_subdivisions(
    dashboard_env: Settings, runtime: Runtime, kenya: AppealSummary
) -> None:
    demonstrations.save(
        runtime.engine,
        [
            DemonstrationInput("kenya", "Vigil", "Nairobi", "KE", at_noon(today() - timedelta(days=1))),
            DemonstrationInput("kenya", "March", "Mombasa", "KE", at_noon(today())),
            DemonstrationInput("kenya", "Rally", "Kisumu", "KE", at_noon(today())),
            DemonstrationInput("kenya", "Candles", "Amsterdam", "NL", at_noon(today())),
        ],
    )
    at = page("pages/map.py", campaign="kenya", country="ke")
    assert not at.warning, [w.value for w in at.warning]
    assert at.query_params["country"] == "KE" and "region" not in at.query_params
    shown = html(at)
    assert re.search(r'Demonstrations</div><div class="sf-v">3<', shown), "Kenya's, not Amsterdam's"
    assert re.search(r'Coast</div><div class="sf-v">1</div><div class="sf-s">KE-300<', shown)

    figure = chart(at, "chart-map")
    shading = figure["data"][0]
    assert len(shading["geojson"]["features"]) == 8, "Kenya's eight provinces, shipped with the project"
    counts = dict(zip(shading["locations"], values(shading["customdata"]), strict=True))
    assert counts == {
        "KE-110": 1, "KE-200": 0, "KE-300": 1, "KE-400": 0,
        "KE-500": 0, "KE-600": 1, "KE-700": 0, "KE-800": 0,
    }  # fmt: skip
    first = figure["frames"][0]["data"][0]
    assert dict(zip(shading["locations"], values(first["customdata"]), strict=True))["KE-300"] == 0, "replay"
    assert "geojson" not in first, "the shapes are sent once, not with each day"
    lat, lon = figure["layout"]["geo"]["lataxis"]["range"], figure["layout"]["geo"]["lonaxis"]["range"]
    assert lat[0] < -4.6 and lat[1] > 5 and lon[0] < 34 and lon[1] > 41.8, "Kenya fills the frame"

    signatures = page("pages/map.py", campaign="kenya", country="KE", shade="signatures")
    assert [i.value for i in signatures.info] == [
        "Signatures are known by country only (a phone number tells no more): "
        "Kenya's subdivisions are shaded by demonstrations."
    ]


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        (
            {"region": "mars"},
            "Unknown region 'mars': one of world, europe, africa, americas, asia, middle-east",
        ),
        ({"country": "Atlantis"}, "Unknown country 'Atlantis'"),
        ({"country": "RE"}, "No subdivisions are shipped for Réunion (RE)"),
    ],
)
def test_map_says_which_area_it_does_not_know(
    dashboard_env: Settings, marches: list[dict[str, Any]], query: dict[str, str], warning: str
) -> None:
    at = page("pages/map.py", campaign="kenya", **query)
    assert [w.value for w in at.warning] == [f"{warning}; the map shows the world."]
    assert re.search(r'Demonstrations</div><div class="sf-v">3<', html(at))


def test_map_draws_flickr_photos_without_fetching_them(
    dashboard_env: Settings, runtime: Runtime, kenya: AppealSummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    thumbnail = "https://live.staticflickr.com/65535/kibera_q.jpg"
    moment = datetime.now(UTC) - timedelta(hours=3)  # in the past at any hour (the map takes every photo)
    social.record(
        runtime.engine,
        [
            SocialInput(
                "flickr", "photo", "53112", moment, "kenya",
                attributes={"title": "Kibera march", "latitude": -1.31, "longitude": 36.79,
                            "thumbnail": thumbnail, "url": "https://flic.kr/p/hDm"},
            ),
            SocialInput("flickr", "photo", "53113", moment, "kenya", attributes={"title": "Nowhere"}),
        ],
    )  # fmt: skip
    at = page("pages/map.py", campaign="kenya", country="KE")
    photos = chart(at, "chart-map")["data"][2]
    assert [round(v, 2) for v in values(photos["lat"])] == [-1.31], "a photo without a place is not drawn"
    assert (
        photos["customdata"][0][0] == "Kibera march" and photos["customdata"][0][2] == "https://flic.kr/p/hDm"
    )
    shown = html(at)
    assert 'href="https://flic.kr/p/hDm"' in shown and "Kibera march" in shown
    assert thumbnail not in shown, "no image from Flickr unless the operator allows it"

    monkeypatch.setenv("CAMPAIGN_MAP_PHOTO_THUMBNAILS", "true")
    get_settings.cache_clear()
    assert f'src="{thumbnail}"' in html(page("pages/map.py", campaign="kenya", country="KE"))


def test_a_new_demonstration_is_stored(
    dashboard_env: Settings, runtime: Runtime, kenya: AppealSummary
) -> None:
    at = page("pages/map.py", campaign="kenya")
    at.text_input(key="demo-new-title").input("Candle vigil")
    at.text_input(key="demo-new-city").input("Berlin")
    at.selectbox(key="demo-new-country").set_value("DE")
    at.date_input(key="demo-new-day").set_value(date(2026, 11, 20))
    at.time_input(key="demo-new-time").set_value(time(18, 0))
    at.number_input(key="demo-new-attendance").set_value(280)
    at.text_area(key="demo-new-photos").input(PHOTO)
    at.button(key="demo-save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (stored,) = demonstrations.listing(runtime.engine, "kenya")
    assert (stored["city"], stored["country"], stored["attendance"], stored["photos"]) == (
        "Berlin", "DE", 280, [PHOTO],
    )  # fmt: skip
    assert (round(stored["latitude"], 1), round(stored["longitude"], 1)) == (52.5, 13.4)  # looked up offline
    assert stored["starts_at"] == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 18:00 in Amsterdam
    assert [s.value for s in at.success] == ["Saved: Candle vigil, Berlin"]
    assert "Candle vigil" in html(at), "the list already shows it"


def test_a_bad_demonstration_says_why(
    dashboard_env: Settings, runtime: Runtime, kenya: AppealSummary
) -> None:
    at = page("pages/map.py", campaign="kenya")
    at.text_input(key="demo-new-title").input("March")
    at.text_input(key="demo-new-city").input("Atlantis")
    at.selectbox(key="demo-new-country").set_value("KE")
    at.date_input(key="demo-new-day").set_value(date(2026, 11, 20))
    at.button(key="demo-save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["city 'Atlantis' not found in KE; give latitude and longitude"]
    assert demonstrations.listing(runtime.engine) == []


def test_a_demonstration_is_edited(
    dashboard_env: Settings, runtime: Runtime, marches: list[dict[str, Any]]
) -> None:
    london = next(m for m in marches if m["city"] == "London")
    at = page("pages/map.py", campaign="kenya")
    at.selectbox(key="demo-pick").set_value(str(london["id"])).run()
    assert at.text_input(key=f"demo-{london['id']}-title").value == "March in London"
    at.number_input(key=f"demo-{london['id']}-attendance").set_value(900)
    at.button(key="demo-save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    edited = next(m for m in demonstrations.listing(runtime.engine) if m["id"] == london["id"])
    assert edited["attendance"] == 900
    assert (edited["latitude"], edited["longitude"]) == (london["latitude"], london["longitude"])


# -- Outcomes -----------------------------------------------------------------------------------------


@pytest.fixture
def decided(runtime: Runtime, hassan: AppealSummary, kenya: AppealSummary) -> None:
    """Three decided appeals (two good) and two still waiting (lin longest)."""
    now = datetime.now(UTC)
    for slug, country, days in (("ali", "TN", 60), ("samira", "IR", 90), ("lin", "CN", 120)):
        appeals.add_appeal(
            runtime.engine,
            slug=slug,
            title=f"Appeal for {slug.title()}",
            campaign="torture",
            country=country,
            opened_at=now - timedelta(days=days),
        )
    outcomes.record(runtime.engine, "ali", "released", occurred_at=now - timedelta(days=40))
    outcomes.record(runtime.engine, "samira", "worsened", occurred_at=now - timedelta(days=60))
    outcomes.record(runtime.engine, "kenya", "charges-dropped")


def test_outcomes_match_hand_computed_figures(dashboard_env: Settings, decided: None) -> None:
    at = page("pages/outcomes.py")
    shown = html(at)
    assert re.search(r'Good outcomes</div><div class="sf-v">67%<', shown), "2 good of 3 decided"
    assert "2 of 3 appeals with an outcome" in shown
    assert re.search(r'Still waiting</div><div class="sf-v">2<', shown)
    by_campaign = chart(at, "chart-campaigns")["data"][0]
    assert dict(zip(by_campaign["y"], values(by_campaign["x"]), strict=True)) == {
        "Kenya": 100.0,
        "Torture": 50.0,
    }
    kinds = chart(at, "chart-kinds")["data"]
    assert {bar["name"]: sorted(bar["y"]) for bar in kinds} == {
        "good": ["Charges dropped", "Released"],
        "not good": ["Worsened"],
    }
    days = chart(at, "chart-days")["data"]
    assert sorted(round(x) for bar in days for x in values(bar["x"])) == [0, 20, 30]
    waiting = at.dataframe[0].value
    assert list(waiting["appeal"]) == ["lin", "hassan"] and int(waiting["days"].iloc[0]) == 120

    kenya = html(page("pages/outcomes.py", campaign="kenya"))
    assert re.search(r'Good outcomes</div><div class="sf-v">100%<', kenya)


def test_an_outcome_is_recorded(dashboard_env: Settings, runtime: Runtime, decided: None) -> None:
    at = page("pages/outcomes.py")
    at.selectbox(key="outcome-appeal").set_value("hassan")
    at.selectbox(key="outcome-kind").set_value("no-change").run()
    assert at.toggle(key="outcome-good").value is False, "good or not follows the kind"
    at.text_input(key="outcome-source").input("Urgent Action update")
    at.button(key="outcome-save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = outcomes.frame(runtime.engine)
    hassan = table[table["slug"] == "hassan"].iloc[0]
    assert (hassan["kind"], bool(hassan["good"])) == ("no-change", False)
    assert [s.value for s in at.success] == ["Recorded for hassan: No change (not good)"]
    assert re.search(r'Good outcomes</div><div class="sf-v">50%<', html(at)), "2 good of 4 now"


def test_a_bad_outcome_says_why(dashboard_env: Settings, runtime: Runtime, decided: None) -> None:
    at = page("pages/outcomes.py")
    at.selectbox(key="outcome-appeal").set_value("lin")
    at.date_input(key="outcome-day").set_value(today() - timedelta(days=200))
    at.button(key="outcome-save").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["the outcome's date is before the appeal was opened"]
    table = outcomes.frame(runtime.engine)
    assert table[table["slug"] == "lin"]["kind"].isna().all()


# -- Live: social figures and today's demonstrations ----------------------------------------------------


def test_live_shows_social_figures_and_todays_demonstrations(
    dashboard_env: Settings, runtime: Runtime, hassan: AppealSummary, marches: list[dict[str, Any]]
) -> None:
    moment = datetime.now(UTC) - timedelta(hours=1)
    events = [SocialInput("facebook", "join", f"j{i}", moment, "kenya") for i in range(3)]
    events += [SocialInput("facebook", "post", f"p{i}", moment, "kenya") for i in range(2)]
    events += [SocialInput("flickr", "photo", "f1", moment, "kenya")]
    events += [
        SocialInput("web", "visit", f"v{i}", moment, "kenya", attributes={"referrer": referrer})
        for i, referrer in enumerate(["facebook", "direct", "direct", "search"])
    ]
    social.record_live(runtime.engine, runtime.live, events)
    runtime.live.refresh(runtime.engine, runtime.vault)

    shown = html(page(campaign="kenya"))
    strip = shown[shown.index('<div class="cr-strip">') :]
    figures = dict(re.findall(r'class="cr-k">([^<]+)</div><div class="cr-mv">([^<]+)<', strip))
    assert figures == {
        "Facebook joins": "3",
        "Posts": "2",
        "Photos": "1",
        "Web visits": "4",
        "From social media": "25%",
    }
    assert "Demonstrations today · 1" in strip and "Amsterdam" in strip and "Nairobi" not in strip
    assert '<div class="cr-strip">' not in html(page(appeal="hassan")), "no strip for a campaign without any"
