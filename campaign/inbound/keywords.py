"""Text of an inbound SMS -> what the supporter wants, in any script.

Matching ignores case, accents, punctuation, emoji and spacing: "ja!", " Ja 👍", "JÁ" and
"ｊａ" all read as JA.  The first word decides; an appeal keyword anywhere in a sign
names the appeal ("JA KENYA", "KENYA").
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Intent(enum.StrEnum):
    SIGN = "sign"
    STOP = "stop"
    START = "start"
    HELP = "help"
    JOIN = "join"
    UNKNOWN = "unknown"


STOP_WORDS = frozenset({"STOP", "STOPP", "ARRET", "UNSUBSCRIBE", "STOPALL", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "RESUME"})
HELP_WORDS = frozenset({"HELP", "INFO"})
JOIN_WORDS = frozenset({"JOIN", "LID"})

# The language a yes-word is written in, so the thank-you can answer in it.
YES_WORD_LANGUAGES = {
    "JA": "nl",
    "YES": "en",
    "OUI": "fr",
    "SI": "es",
    "NDIO": "sw",
    "NAAM": "ar",
    "نعم": "ar",
    "ДА": "ru",
}

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Case-, accent- and width-insensitive form of a word or text."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).upper()


def words(text: str) -> list[str]:
    return [word for word in _WORD.findall(fold(text)) if word != "_"]


@dataclass(frozen=True, slots=True)
class Reading:
    intent: Intent
    appeal_slug: str | None = None
    language: str | None = None


class KeywordBook:
    """The yes-words and appeal keywords in force; built from settings and the appeals."""

    def __init__(self, yes_words: Iterable[str], appeal_keywords: Mapping[str, str]):
        self.yes_words = {fold(word): word for word in yes_words}
        self.appeal_keywords = {fold(keyword): slug for keyword, slug in appeal_keywords.items()}

    def read(self, text: str) -> Reading:
        tokens = words(text)
        if not tokens:
            return Reading(Intent.UNKNOWN)
        first = tokens[0]
        if first in STOP_WORDS:
            return Reading(Intent.STOP)
        if first in START_WORDS:
            return Reading(Intent.START)
        if first in HELP_WORDS:
            return Reading(Intent.HELP)
        if first in JOIN_WORDS:
            return Reading(Intent.JOIN)
        slug = next((self.appeal_keywords[t] for t in tokens if t in self.appeal_keywords), None)
        # Multi-word keywords ("FREE HASSAN") match on the whole folded text.
        if slug is None:
            joined = " ".join(tokens)
            slug = next((s for k, s in self.appeal_keywords.items() if " " in k and k in joined), None)
        if first in self.yes_words:
            language = YES_WORD_LANGUAGES.get(fold(self.yes_words[first]))
            return Reading(Intent.SIGN, slug, language)
        if slug is not None:
            return Reading(Intent.SIGN, slug)
        return Reading(Intent.UNKNOWN)
