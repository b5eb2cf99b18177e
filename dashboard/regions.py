"""Which part of the world the Map page shows: a region at a readable scale, or one country.

``/map?region=europe`` frames Europe; ``/map?country=KE`` frames Kenya and shades its
provinces (the shapes of ``campaign.activity.subdivisions``, shipped with the project).
A region is a frame only: its countries are the ones its box shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from campaign.activity import subdivisions
from campaign.activity.geo import country_code, country_name
from campaign.errors import BadRequest

MARGIN = 0.12  # of the country's extent, on each side, so its edge is not the panel's


@dataclass(frozen=True)
class Frame:
    """What the map shows: its projection and the latitudes and longitudes it spans."""

    key: str  # as in the address: "europe", or the country's code "KE"
    name: str
    projection: str
    lataxis: tuple[float, float]
    lonaxis: tuple[float, float]
    country: str | None = None  # ISO alpha-2: the country whose subdivisions are shaded

    @property
    def center_lon(self) -> float:
        return (self.lonaxis[0] + self.lonaxis[1]) / 2


# Boxes drawn so that each region's countries fill the panel (a 2:1 panel on a laptop).
REGIONS = {
    "world": Frame("world", "World", "natural earth", (-57, 84), (-180, 180)),
    "europe": Frame("europe", "Europe", "mercator", (34, 71), (-25, 45)),
    "africa": Frame("africa", "Africa", "mercator", (-36, 38), (-26, 60)),
    "americas": Frame("americas", "Americas", "natural earth", (-56, 72), (-170, -30)),
    "asia": Frame("asia", "Asia", "mercator", (-11, 56), (25, 150)),
    "middle-east": Frame("middle-east", "Middle East", "mercator", (12, 42), (25, 63)),
}
WORLD = REGIONS["world"]


def region_frame(region: str) -> Frame:
    found = REGIONS.get(region.strip().lower())
    if found is None:
        raise BadRequest(f"unknown region {region!r}: one of {', '.join(REGIONS)}")
    return found


def country_frame(country: str) -> Frame:
    """The frame of one country (a code or a name); BadRequest for a country unknown or unshaped."""
    code = country_code(country)
    box = subdivisions.bounds(code)
    if box is None:
        raise BadRequest(f"no subdivisions are shipped for {country_name(code)} ({code})")
    west, south, east, north = box
    if east - west > 180:  # across the antimeridian (Russia, Fiji): frame the main part
        west, east = _main_longitudes(code)
    pad_x, pad_y = max((east - west) * MARGIN, 0.3), max((north - south) * MARGIN, 0.3)
    return Frame(
        code,
        country_name(code),
        "mercator",
        (max(south - pad_y, -85), min(north + pad_y, 85)),
        (west - pad_x, east + pad_x),
        country=code,
    )


def _main_longitudes(code: str) -> tuple[float, float]:
    """West and east of a country across the antimeridian, as longitudes past 180 (170 to 190)."""
    shifted = [
        lon % 360
        for feature in subdivisions.shapes(code)["features"]
        for polygon in feature["geometry"]["coordinates"]
        for lon, _ in polygon[0]
    ]
    return min(shifted), max(shifted)


def in_frame(frame: Frame, demos: pd.DataFrame) -> pd.DataFrame:
    """The demonstrations (or photos) a frame shows: of its country, or inside its box."""
    if frame.country and "country" in demos:
        return demos[demos["country"] == frame.country].reset_index(drop=True)
    if frame.country:  # photos know their position only: those inside one of its subdivisions
        inside = [
            subdivisions.locate(frame.country, row.latitude, row.longitude) is not None
            for row in demos.itertuples(index=False)
        ]
        return demos[pd.Series(inside, index=demos.index, dtype=bool)].reset_index(drop=True)
    if frame is WORLD:
        return demos
    (south, north), (west, east) = frame.lataxis, frame.lonaxis
    keep = demos["latitude"].between(south, north) & demos["longitude"].between(west, east)
    return demos[keep].reset_index(drop=True)


def frame_for(region: str | None, country: str | None) -> tuple[Frame, str | None]:
    """The frame an address asks for, and what was wrong with it (then: the world)."""
    try:
        if country:
            return country_frame(country), None
        return (region_frame(region) if region else WORLD), None
    except BadRequest as problem:
        return WORLD, f"{problem.message[:1].upper()}{problem.message[1:]}; the map shows the world."
