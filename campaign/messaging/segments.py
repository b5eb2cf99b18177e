"""How many SMS segments a text costs, as the network counts and bills them.

A text goes out in the GSM 7-bit default alphabet when every character is in it, else in
UCS-2 (UTF-16, two bytes a unit).  One segment holds 140 bytes: 160 septets or 70 UTF-16
units; a text longer than that is split, and each part gives up 6 bytes to the
concatenation header (UDH): 153 septets or 67 units a part.

The tables are 3GPP TS 23.038 (formerly GSM 03.38) section 6.2.1, "GSM 7 bit Default
Alphabet", and 6.2.1.1, its default extension table: an extension character is sent as
ESC (0x1B) and its code, so it costs two septets.  National shift tables (TS 23.038 6.2.1.2)
are not used: few providers send them and none lets us choose.  A character outside the
Basic Multilingual Plane (most emoji) is two UTF-16 units (a surrogate pair).  Neither an
escape sequence nor a surrogate pair is cut across two parts, as providers split them.

No well-kept library does this (the PyPI ones are unmaintained codecs or lack splitting), so
it lives here, checked against the standard's table in ``tests/messaging/test_segments.py``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM_7BIT = "GSM-7"
UCS_2 = "UCS-2"

# TS 23.038 6.2.1, codes 0x00-0x7F in order; 0x1B is the escape to the extension table.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10-0x1F
    " !\"#¤%&'()*+,-./"  # 0x20-0x2F
    "0123456789:;<=>?"  # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"  # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50-0x5F
    "¿abcdefghijklmno"  # 0x60-0x6F
    "pqrstuvwxyzäöñüà"  # 0x70-0x7F
)
BASIC = frozenset(_BASIC) - {"\x1b"}
# TS 23.038 6.2.1.1: form feed 0x0A, ^ 0x14, { 0x28, } 0x29, \ 0x2F, [ 0x3C, ~ 0x3D, ] 0x3E,
# | 0x40, € 0x65.
EXTENSION = frozenset("\f^{}\\[~]|€")
GSM = BASIC | EXTENSION

SINGLE = {GSM_7BIT: 160, UCS_2: 70}
PART = {GSM_7BIT: 153, UCS_2: 67}


@dataclass(frozen=True, slots=True)
class Measure:
    """A text as the network sees it."""

    encoding: str  # GSM-7 or UCS-2
    characters: int  # as a person counts them (code points)
    units: int  # septets (GSM-7) or UTF-16 units (UCS-2)
    segments: int
    forcing: tuple[str, ...]  # the characters outside GSM 03.38 that made it UCS-2, once each

    @property
    def single_limit(self) -> int:
        return SINGLE[self.encoding]

    def line(self) -> str:
        """One line for a preview: encoding, characters, segments, and what forced UCS-2."""
        parts = f"{self.segments} segment" + ("s" if self.segments != 1 else "")
        text = f"{self.encoding}, {self.characters} characters, {parts}"
        if self.forcing:
            text += f"; UCS-2 because of {forcing_text(self.forcing)}"
        return text


def forcing_text(characters: tuple[str, ...], most: int = 8) -> str:
    """The characters that forced UCS-2, for a person: a few of them, then their scripts."""
    shown = " ".join(repr(c) if c.isspace() or not c.isprintable() else c for c in characters[:most])
    if len(characters) <= most:
        return shown
    names = (str(unicodedata.name(c, "")) for c in characters if c.isalpha())
    scripts = dict.fromkeys(name.split(" ")[0].title() for name in names if name)
    return f"{shown} and {len(characters) - most} more" + (f" ({', '.join(scripts)})" if scripts else "")


def septets(character: str) -> int | None:
    """Septets of one character in GSM-7: 1, 2 (extension table), or None (not in it)."""
    if character in BASIC:
        return 1
    if character in EXTENSION:
        return 2
    return None


def is_gsm(text: str) -> bool:
    return GSM.issuperset(text)


def _widths(text: str) -> tuple[str, list[int], tuple[str, ...]]:
    forcing = tuple(dict.fromkeys(c for c in text if c not in BASIC and c not in EXTENSION))
    if not forcing:
        return GSM_7BIT, [1 if c in BASIC else 2 for c in text], ()
    return UCS_2, [2 if ord(c) > 0xFFFF else 1 for c in text], forcing


def measure(text: str) -> Measure:
    if BASIC.issuperset(text):  # the common case, one septet a character: no per-character list
        units = len(text)
        return Measure(GSM_7BIT, units, units, _uniform_count(units, GSM_7BIT), ())
    encoding, widths, forcing = _widths(text)
    units = sum(widths)
    return Measure(encoding, len(text), units, _count(widths, encoding), forcing)


def segments(text: str) -> int:
    return measure(text).segments


def _uniform_count(units: int, encoding: str) -> int:
    """``_count`` of ``units`` characters of one unit each."""
    if units <= SINGLE[encoding]:
        return 1 if units else 0
    return -(-units // PART[encoding])


def _count(widths: list[int], encoding: str) -> int:
    units = sum(widths)
    if units == 0:
        return 0
    if units <= SINGLE[encoding]:
        return 1
    part, used, count = PART[encoding], 0, 1
    for width in widths:
        if used + width > part:  # an escape pair or surrogate pair is never cut
            count, used = count + 1, 0
        used += width
    return count


def fit(text: str, max_segments: int = 1) -> str:
    """``text`` shortened, with an ellipsis, to at most ``max_segments`` segments.

    The ellipsis is "..." in a GSM-7 text (the single character "…" is not in GSM 03.38 and
    would make the whole text UCS-2), "…" in a text that is UCS-2 anyway.
    """
    if measure(text).segments <= max_segments:
        return text
    ellipsis = "…" if not is_gsm(text) else "..."
    low, high = 0, len(text)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle].rstrip() + ellipsis).segments <= max_segments:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ellipsis
