"""A country's first-level subdivisions (provinces, counties, states), offline.

The shapes ship with the project (``shapes/admin1/KE.json``: Natural Earth 1:10m admin-1,
public domain, simplified by ``tools/build_subdivisions.py``), one small GeoJSON file per
country read when first asked for.  A demonstration is placed in its subdivision by its
coordinates (point in polygon); a point the simplified coast leaves just outside (a harbour
city, an island town) goes to the nearest subdivision within ``NEAR`` degrees.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHAPES = Path(__file__).resolve().parent / "shapes" / "admin1"
NEAR = 0.25  # degrees (about 25 km): how far off the simplified outline a place may lie
CODE = re.compile(r"[A-Z]{2}")

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class Subdivision:
    code: str  # ISO 3166-2 as Natural Earth gives it ("KE-700")
    name: str


@dataclass(frozen=True)
class _Shape:
    subdivision: Subdivision
    polygons: tuple[tuple[Ring, ...], ...]  # each: the outer ring, then its holes
    box: tuple[float, float, float, float]  # west, south, east, north


def available(country: str) -> bool:
    """Whether subdivision shapes ship for this ISO alpha-2 country code."""
    return bool(CODE.fullmatch(country)) and (SHAPES / f"{country}.json").is_file()


@functools.cache
def shapes(country: str) -> dict[str, Any]:
    """The country's subdivisions as a GeoJSON FeatureCollection (feature id: the code).

    Empty for a country without shipped shapes.  Cached: callers must not change it."""
    if not available(country):
        return {"type": "FeatureCollection", "features": []}
    return json.loads((SHAPES / f"{country}.json").read_text(encoding="utf-8"))


def subdivisions(country: str) -> list[Subdivision]:
    """The country's subdivisions, by code."""
    return [shape.subdivision for shape in _shapes(country)]


def bounds(country: str) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the country's subdivisions (None: no shapes)."""
    boxes = [shape.box for shape in _shapes(country)]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@functools.lru_cache(maxsize=65536)  # the map asks again for each day of its replay
def locate(country: str, latitude: float, longitude: float) -> Subdivision | None:
    """The subdivision of ``country`` a place lies in, or None (no shapes, or too far off)."""
    point = (longitude, latitude)
    nearest, distance = None, NEAR
    for shape in _shapes(country):
        west, south, east, north = shape.box
        if not (west - NEAR <= longitude <= east + NEAR and south - NEAR <= latitude <= north + NEAR):
            continue
        for polygon in shape.polygons:
            if _inside(point, polygon[0]) and not any(_inside(point, hole) for hole in polygon[1:]):
                return shape.subdivision
            gap = min(_to_ring(point, ring) for ring in polygon)
            if gap <= distance:
                nearest, distance = shape.subdivision, gap
    return nearest


@functools.cache
def _shapes(country: str) -> tuple[_Shape, ...]:
    found = []
    for feature in shapes(country)["features"]:
        polygons = tuple(
            tuple([(float(x), float(y)) for x, y in ring] for ring in polygon)
            for polygon in feature["geometry"]["coordinates"]
        )
        xs = [x for polygon in polygons for x, _ in polygon[0]]
        ys = [y for polygon in polygons for _, y in polygon[0]]
        subdivision = Subdivision(code=str(feature["id"]), name=str(feature["properties"]["name"]))
        found.append(_Shape(subdivision, polygons, (min(xs), min(ys), max(xs), max(ys))))
    return tuple(found)


def _inside(point: tuple[float, float], ring: Ring) -> bool:
    """Even-odd rule: a ray to the east crosses the ring's edges an odd number of times."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _to_ring(point: tuple[float, float], ring: Ring) -> float:
    """Distance in degrees from a point to a ring's nearest edge (flat: enough for ``NEAR``)."""
    x, y = point
    best = math.inf
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        dx, dy = x2 - x1, y2 - y1
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length))
        best = min(best, math.hypot(x - x1 - t * dx, y - y1 - t * dy))
    return best
