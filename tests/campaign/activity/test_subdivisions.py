"""First-level subdivisions from the shapes shipped with the project, with no network."""

from __future__ import annotations

import itertools
import json

import pytest

from campaign.activity import subdivisions
from campaign.activity.geo import locate
from campaign.activity.subdivisions import SHAPES, Subdivision


@pytest.mark.parametrize(
    ("city", "country", "code", "name"),
    [
        ("Nairobi", "KE", "KE-110", "Nairobi"),
        ("Mombasa", "KE", "KE-300", "Coast"),  # on an island the simplified coast barely holds
        ("Kisumu", "KE", "KE-600", "Nyanza"),  # on the lake shore
        ("Eldoret", "KE", "KE-700", "Rift Valley"),
        ("Paris", "FR", "FR-75", "Paris"),
        ("Munich", "DE", "DE-BY", "Bayern"),
        ("São Paulo", "BR", "BR-SP", "São Paulo"),
        ("Lagos", "NG", "NG-LA", "Lagos"),
    ],
)
def test_a_gazetteer_city_lies_in_its_subdivision(city: str, country: str, code: str, name: str) -> None:
    latitude, longitude = locate(city, country)
    assert subdivisions.locate(country, latitude, longitude) == Subdivision(code, name)


def test_a_place_just_off_the_simplified_coast_goes_to_the_nearest() -> None:
    assert subdivisions.locate("KE", -4.06, 39.75) == Subdivision("KE-300", "Coast"), "in the harbour mouth"
    assert subdivisions.locate("KE", -5.5, 42.0) is None, "far out at sea"
    assert subdivisions.locate("KE", 52.37, 4.9) is None, "Amsterdam is in no Kenyan province"


def test_a_country_without_shapes_has_no_subdivisions() -> None:
    for code in ("RE", "ZZ", "../KE", "ke", ""):
        assert not subdivisions.available(code)
        assert subdivisions.subdivisions(code) == []
        assert subdivisions.bounds(code) is None
        assert subdivisions.locate(code, -1.29, 36.82) is None
    assert subdivisions.shapes("RE") == {"type": "FeatureCollection", "features": []}


def test_kenya_ships_its_provinces_compactly() -> None:
    assert [s.name for s in subdivisions.subdivisions("KE")] == [
        "Nairobi", "Central", "Coast", "Eastern", "North-Eastern", "Nyanza", "Rift Valley", "Western",
    ]  # fmt: skip
    west, south, east, north = subdivisions.bounds("KE") or (0, 0, 0, 0)
    assert (round(west), round(south), round(east), round(north)) == (34, -5, 42, 5)
    assert (SHAPES / "KE.json").stat().st_size < 40_000
    total = sum(path.stat().st_size for path in SHAPES.glob("*.json"))
    assert total < 6_000_000, f"{total:,} bytes of shapes in all"
    feature = subdivisions.shapes("KE")["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon" and set(feature["properties"]) == {"name"}


def test_every_shipped_file_is_one_countrys_geojson() -> None:
    files = sorted(SHAPES.glob("*.json"))
    assert len(files) > 230 and (SHAPES / "README.md").is_file()
    for path in files[:: len(files) // 12]:  # a sample: reading all 240 is the bench's work
        collection = json.loads(path.read_text(encoding="utf-8"))
        assert collection["type"] == "FeatureCollection" and collection["features"]
        assert all(str(f["id"]).startswith(f"{path.stem}-") or f["id"] for f in collection["features"])
        for feature in collection["features"]:
            for outer, *holes in feature["geometry"]["coordinates"]:
                # Clockwise outside, as Plotly (d3-geo) reads it; otherwise it fills the globe.
                assert _twice_area(outer) < 0 and all(_twice_area(hole) > 0 for hole in holes)


def _twice_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
