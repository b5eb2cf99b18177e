"""Segments as the network counts them, against 3GPP TS 23.038 (GSM 03.38).

Source of the tables below: 3GPP TS 23.038, section 6.2.1 "GSM 7 bit Default Alphabet"
(the 128 codes) and 6.2.1.1 "GSM 7 bit default alphabet extension table".
"""

from __future__ import annotations

import pytest

from campaign.messaging import segments
from campaign.messaging.segments import GSM_7BIT, UCS_2, fit, measure

# TS 23.038 6.2.1, every code but 0x1B (ESC), as the standard lists them.
DEFAULT_ALPHABET = {
    0x00: "@", 0x01: "£", 0x02: "$", 0x03: "¥", 0x04: "è", 0x05: "é", 0x06: "ù", 0x07: "ì",
    0x08: "ò", 0x09: "Ç", 0x0A: "\n", 0x0B: "Ø", 0x0C: "ø", 0x0D: "\r", 0x0E: "Å", 0x0F: "å",
    0x10: "Δ", 0x11: "_", 0x12: "Φ", 0x13: "Γ", 0x14: "Λ", 0x15: "Ω", 0x16: "Π", 0x17: "Ψ",
    0x18: "Σ", 0x19: "Θ", 0x1A: "Ξ", 0x1C: "Æ", 0x1D: "æ", 0x1E: "ß", 0x1F: "É",
    0x20: " ", 0x21: "!", 0x22: '"', 0x23: "#", 0x24: "¤", 0x25: "%", 0x26: "&", 0x27: "'",
    0x28: "(", 0x29: ")", 0x2A: "*", 0x2B: "+", 0x2C: ",", 0x2D: "-", 0x2E: ".", 0x2F: "/",
    **{0x30 + i: str(i) for i in range(10)},
    0x3A: ":", 0x3B: ";", 0x3C: "<", 0x3D: "=", 0x3E: ">", 0x3F: "?",
    0x40: "¡", **{0x41 + i: chr(ord("A") + i) for i in range(26)},
    0x5B: "Ä", 0x5C: "Ö", 0x5D: "Ñ", 0x5E: "Ü", 0x5F: "§",
    0x60: "¿", **{0x61 + i: chr(ord("a") + i) for i in range(26)},
    0x7B: "ä", 0x7C: "ö", 0x7D: "ñ", 0x7E: "ü", 0x7F: "à",
}  # fmt: skip
# TS 23.038 6.2.1.1: sent as ESC + code, two septets each.
EXTENSION_TABLE = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}  # fmt: skip


def test_the_tables_are_the_standards() -> None:
    assert len(DEFAULT_ALPHABET) == 127
    assert set(DEFAULT_ALPHABET.values()) == segments.BASIC
    assert set(EXTENSION_TABLE.values()) == segments.EXTENSION
    assert all(segments.septets(c) == 1 for c in DEFAULT_ALPHABET.values())
    assert all(segments.septets(c) == 2 for c in EXTENSION_TABLE.values())


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "units", "count", "forcing"),
    [
        ("", GSM_7BIT, 0, 0, 0, ()),
        ("JA", GSM_7BIT, 2, 2, 1, ()),
        ("a" * 160, GSM_7BIT, 160, 160, 1, ()),
        ("a" * 161, GSM_7BIT, 161, 161, 2, ()),
        ("a" * 306, GSM_7BIT, 306, 306, 2, ()),
        ("a" * 307, GSM_7BIT, 307, 307, 3, ()),
        # the extension table counts double
        ("€" * 80, GSM_7BIT, 80, 160, 1, ()),
        ("a" * 159 + "€", GSM_7BIT, 160, 161, 2, ()),
        ("[{^}]~|\\", GSM_7BIT, 8, 16, 1, ()),
        ("a\fb", GSM_7BIT, 3, 4, 1, ()),
        # an escape pair is not cut between parts: 152 + € does not fit the first 153
        ("a" * 152 + "€" + "a" * 152, GSM_7BIT, 305, 306, 3, ()),
        ("a" * 151 + "€" + "a" * 153, GSM_7BIT, 305, 306, 2, ()),
        # the accents GSM 03.38 has stay 7-bit; the ones it lacks force UCS-2
        ("Ça va? àéèùìò ÄÖÜäöüß ÑñÅåØøÆæ ¡¿§£¥¤", GSM_7BIT, 37, 37, 1, ()),
        ("Vous êtes là", UCS_2, 12, 12, 1, ("ê",)),
        ("ça", UCS_2, 2, 2, 1, ("ç",)),  # only the capital Ç is in the table
        ("“quoted” — yes…", UCS_2, 15, 15, 1, ("“", "”", "—", "…")),
        ("`", UCS_2, 1, 1, 1, ("`",)),
        ("a" * 70 + "ş", UCS_2, 71, 71, 2, ("ş",)),
        ("ب" * 70, UCS_2, 70, 70, 1, ("ب",)),
        ("ب" * 134, UCS_2, 134, 134, 2, ("ب",)),
        ("ب" * 135, UCS_2, 135, 135, 3, ("ب",)),
        # outside the BMP: a surrogate pair, two units, never cut between parts
        ("🙂", UCS_2, 1, 2, 1, ("🙂",)),
        ("a" * 68 + "🙂", UCS_2, 69, 70, 1, ("🙂",)),
        ("a" * 69 + "🙂", UCS_2, 70, 71, 2, ("🙂",)),
        ("a" * 66 + "🙂" + "a" * 66, UCS_2, 133, 134, 3, ("🙂",)),
        ("a" * 65 + "🙂" + "a" * 67, UCS_2, 133, 134, 2, ("🙂",)),
        ("Стоп СТОП", UCS_2, 9, 9, 1, ("С", "т", "о", "п", "Т", "О", "П")),
    ],
)
def test_measure(
    text: str, encoding: str, characters: int, units: int, count: int, forcing: tuple[str, ...]
) -> None:
    found = measure(text)
    assert (found.encoding, found.characters, found.units, found.segments) == (
        encoding,
        characters,
        units,
        count,
    )
    assert found.forcing == forcing


def test_the_preview_line_names_what_forced_ucs2() -> None:
    assert measure("Free Hassan now").line() == "GSM-7, 15 characters, 1 segment"
    line = measure("Free Hassan now 🙂 ✊").line()
    assert line == "UCS-2, 19 characters, 1 segment; UCS-2 because of 🙂 ✊"
    arabic = measure("حسن معرض لخطر التعذيب").line()
    assert arabic.endswith("UCS-2 because of ح س ن م ع ر ض ل and 7 more (Arabic)")


@pytest.mark.parametrize(
    ("text", "most"),
    [("a" * 400, 1), ("a" * 400, 2), ("€" * 200, 1), ("ب" * 300, 1), ("Ça " * 100 + "ê", 1), ("🙂" * 90, 2)],
)
def test_fit_shortens_to_the_budget(text: str, most: int) -> None:
    shortened = fit(text, most)
    assert measure(shortened).segments <= most
    assert measure(shortened).encoding == measure(text).encoding  # no "…" turning GSM-7 into UCS-2
    encoding = measure(text).encoding
    budget = segments.SINGLE[encoding] if most == 1 else most * segments.PART[encoding]
    assert measure(shortened).units > 0.95 * budget  # shortened no more than it must be


def test_fit_leaves_a_text_that_fits() -> None:
    assert fit("Thank you!") == "Thank you!"


@pytest.mark.parametrize("length", [0, 1, 159, 160, 161, 306, 307, 1000])
def test_a_plain_text_is_measured_as_character_by_character(length: int) -> None:
    text = ("Dank je! Jij en 1.234 anderen staan achter Hassan. " * 30)[:length]
    encoding, widths, forcing = segments._widths(text)
    assert measure(text) == segments.Measure(
        encoding, len(text), sum(widths), segments._count(widths, encoding), forcing
    )
