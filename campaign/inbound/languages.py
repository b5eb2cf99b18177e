"""Which language a supporter is texted in: the one they named last, else their number's country's.

``supporters.language`` (ISO 639-1, NULL: the appeal's language) is set on every inbound
text: to the language of the keyword they used when that keyword is of one language only,
or the one a language keyword asks for; a supporter without one gets their number's
country's main language, from the Unicode CLDR territory data that Babel ships (the first
official language there, e.g. NL -> nl, MA -> ar, KE -> sw, SR -> nl, CH -> de).
"""

from __future__ import annotations

import functools

from babel.languages import get_official_languages


@functools.cache
def main_language(country: str) -> str | None:
    """The main official language (ISO 639-1) of an ISO 3166 country, or None ("ZZ", unknown)."""
    if not country or country == "ZZ":
        return None
    try:
        official = get_official_languages(country.upper(), de_facto=True)
    except (KeyError, ValueError):
        return None
    for tag in official:
        base = str(tag).split("_", 1)[0]
        if len(base) == 2:
            return base
    return None


def next_language(named: str | None, current: str | None, country: str) -> str | None:
    """A supporter's language after a text: the one it names, else theirs, else their country's."""
    return named or current or main_language(country)
