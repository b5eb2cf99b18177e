"""Text of an inbound SMS -> what the supporter wants, in any script and language.

Matching ignores case, accents, punctuation, emoji, width and spacing: "ja!", " Ja 👍", "JÁ"
and "ｊａ" all read as JA.  The rules, in order:

1. An opt-out word ANYWHERE in the text, as a whole word, opts out: "not FREE, stop texting
   me" is a STOP, whatever else the text holds (a Chinese word: anywhere in the text).
2. The first word decides the rest: an opt-in, help, join or language keyword
   (``TAAL NL``, ``LANGUE FR``); a text that is only a language (``FR``, ``Français``)
   sets that language too.
3. A yes-word first signs; an appeal keyword anywhere in a sign names the appeal
   ("JA KENYA", "KENYA").

The words per language are in ``campaign.inbound.vocabulary``.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from campaign.inbound import vocabulary


class Intent(enum.StrEnum):
    SIGN = "sign"
    STOP = "stop"
    START = "start"
    HELP = "help"
    JOIN = "join"
    LANGUAGE = "language"
    UNKNOWN = "unknown"


# Letters that NFKD does not take apart, and Arabic letters written several ways.
_LETTERS = str.maketrans(
    {
        "Ł": "L", "ł": "L", "Ø": "O", "ø": "O", "Đ": "D", "đ": "D", "Ħ": "H", "ħ": "H", "ı": "I",
        "ـ": "",  # tatweel, the Arabic stretching stroke
        "ى": "ي", "ی": "ي", "ک": "ك", "ة": "ه",
        "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",  # zero-width
    }
)  # fmt: skip
# Cyrillic and Greek capitals that look like Latin ones (Unicode's confusables, UTS #39), for
# words typed with a keyboard switched halfway ("SТОP" with a Cyrillic Т and О).
_CYRILLIC_TO_LATIN = dict(zip("АВЕКМНОРСТХУІЅЈ", "ABEKMHOPCTXYISJ", strict=True))
_GREEK_TO_LATIN = dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX", strict=True))
_TO_LATIN = str.maketrans({**_CYRILLIC_TO_LATIN, **_GREEK_TO_LATIN})
_TO_CYRILLIC = str.maketrans({latin: cyrillic for cyrillic, latin in _CYRILLIC_TO_LATIN.items()})

_WORD = re.compile(r"\w+", re.UNICODE)
# Short texts ("JA", "ja!", "STOP") come again and again: their readings are kept, this many.
READINGS_KEPT = 4096
SHORT_TEXT = 40
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def fold(text: str) -> str:
    """Case-, accent-, width- and spelling-insensitive form of a word or text."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).upper().translate(_LETTERS)


_LATIN = re.compile(r"[A-Z]")
_LOOK_ALIKE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")  # Greek and Cyrillic


def forms(token: str) -> tuple[str, ...]:
    """A folded word as it may be meant: a word mixing Latin with Cyrillic or Greek letters
    (look-alikes from a keyboard switched halfway) is read both wholly Latin and wholly Cyrillic."""
    if token.isascii() or not (_LATIN.search(token) and _LOOK_ALIKE.search(token)):
        return (token,)
    return (token.translate(_TO_LATIN), token.translate(_TO_CYRILLIC))


def words(text: str) -> list[str]:
    return [word for word in _WORD.findall(fold(text)) if word != "_"]


def _key(word: str) -> tuple[str, ...]:
    return tuple(words(word))


@dataclass(frozen=True, slots=True)
class Reading:
    intent: Intent
    appeal_slug: str | None = None
    # The language the text names: its keyword's when that keyword is of one language only,
    # or the one a language keyword asks for.
    language: str | None = None
    # A language keyword naming no language we know: what followed it (for the reply).
    unknown_language: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    languages: frozenset[str]

    @property
    def language(self) -> str | None:
        return next(iter(self.languages)) if len(self.languages) == 1 else None


class Vocabulary:
    """The table of words (``campaign.inbound.vocabulary``) with the extra words of the settings."""

    def __init__(self, extra: Mapping[str, Mapping[str, Iterable[str]]] | None = None):
        table: dict[str, dict[str, list[str]]] = {
            language: {kind: list(found) for kind, found in kinds.items()}
            for language, kinds in vocabulary.WORDS.items()
        }
        # Settings give kind -> language -> words.
        for kind, per_language in (extra or {}).items():
            for language, added in per_language.items():
                table.setdefault(language, {}).setdefault(kind, []).extend(added)
        self.table = table
        self.languages = frozenset(table)
        by_key: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        by_spelling: dict[tuple[str, str], set[str]] = {}
        for language, kinds in table.items():
            for kind, found in kinds.items():
                for word in found:
                    if _key(word):
                        by_key.setdefault((kind, _key(word)), set()).add(language)
                        by_spelling.setdefault((kind, _spelling(word)), set()).add(language)
        self._entries = {key: _Entry(key[0], frozenset(langs)) for key, langs in by_key.items()}
        self._spellings = {key: frozenset(langs) for key, langs in by_spelling.items()}
        self.stop_words = frozenset(k[0] for kind, k in by_key if kind == "stop" and len(k) == 1)
        # Opt-out words of several words, by their first word.
        self._phrases_from: dict[str, list[tuple[str, ...]]] = {}
        for kind, key in by_key:
            if kind == "stop" and len(key) > 1:
                self._phrases_from.setdefault(key[0], []).append(key)
        self.stop_cjk = tuple(
            " ".join(k) for kind, k in by_key if kind == "stop" and any(_CJK.search(t) for t in k)
        )

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Language names (French, Français, Frans) -> code; read from babel's locale data when a
        text first needs them, not when the book is made (an import never does)."""
        return _language_names(self.languages)

    def single_words(self, kind: str) -> frozenset[str]:
        return frozenset(key[0] for k, key in self._entries if k == kind and len(key) == 1)

    def entry(self, kind: str, key: tuple[str, ...]) -> _Entry | None:
        return self._entries.get((kind, key))

    def language_of(self, kind: str, word: str, written: str) -> str | None:
        """The one language a word names, if any; its exact spelling first ("SÍ" is Spanish, "SI" not)."""
        exact = self._spellings.get((kind, written))
        if exact is not None and len(exact) == 1:
            return next(iter(exact))
        entry = self.entry(kind, (word,))
        return entry.language if entry else None

    def find_stop(self, folded: str, tokens: list[tuple[str, ...]]) -> _Entry | None:
        """The opt-out word in a folded text, if it holds one."""
        for start, token in enumerate(tokens):
            for form in token:
                if form in self.stop_words:
                    return self._entries[("stop", (form,))]
                for phrase in self._phrases_from.get(form, ()):
                    following = tokens[start + 1 : start + len(phrase)]
                    if len(following) == len(phrase) - 1 and all(
                        word in forms_ for word, forms_ in zip(phrase[1:], following, strict=True)
                    ):
                        return self._entries[("stop", phrase)]
        for word in self.stop_cjk:
            if word in folded:
                return self._entries[("stop", _key(word))]
        return None

    def language_named(self, words_: list[str]) -> str | None:
        """The language a code (FR) or a name (French, Français, Frans) in some words names."""
        if len(words_) == 1 and words_[0].lower() in self.languages:
            return words_[0].lower()
        return self.names.get(" ".join(words_))


def _spelling(word: str) -> str:
    """A word with its accents kept, only case and width folded."""
    return unicodedata.normalize("NFKC", word).upper()


@functools.cache
def _names_for(languages: frozenset[str]) -> dict[str, str]:
    from babel import Locale, UnknownLocaleError

    names: dict[str, str] = {}
    for language in sorted(languages):
        for shown_in in sorted(languages | {"en"}):
            try:
                name = Locale.parse(language).get_language_name(shown_in)
            except (UnknownLocaleError, ValueError):
                continue
            if name:
                names.setdefault(" ".join(words(name)), language)
    return names


def _language_names(languages: frozenset[str]) -> dict[str, str]:
    return _names_for(languages)


class KeywordBook:
    """The words in force: the vocabulary, the yes-words and the appeals' keywords."""

    def __init__(
        self,
        yes_words: Iterable[str],
        appeal_keywords: Mapping[str, str],
        extra_words: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ):
        self.vocabulary = Vocabulary(extra_words)
        extra_yes = [
            word for per_language in (extra_words or {}).get("yes", {}).values() for word in per_language
        ]
        self.yes_words = {fold(word): word for word in [*yes_words, *extra_yes]}
        self.appeal_keywords = {fold(keyword): slug for keyword, slug in appeal_keywords.items()}
        self._language_openers = self.vocabulary.single_words("language")
        self._cjk_openers = tuple(o for o in self._language_openers if _CJK.search(o))
        self._readings: dict[str, Reading] = {}

    def read(self, text: str) -> Reading:
        """What a text asks for; a short text's reading is remembered (the book never changes)."""
        if len(text) > SHORT_TEXT:
            return self._read(text)
        reading = self._readings.get(text)
        if reading is None:
            if len(self._readings) >= READINGS_KEPT:
                self._readings.clear()
            reading = self._readings[text] = self._read(text)
        return reading

    def _read(self, text: str) -> Reading:
        folded = fold(text)
        tokens = [word for word in _WORD.findall(folded) if word != "_"]
        token_forms = [forms(token) for token in tokens]
        vocabulary = self.vocabulary
        stop = vocabulary.find_stop(folded, token_forms)
        if stop is not None:
            return Reading(Intent.STOP, language=stop.language)
        if not tokens:
            return Reading(Intent.UNKNOWN)
        first = tokens[0]
        written = _first_spelling(text)
        for kind, intent in (("start", Intent.START), ("help", Intent.HELP), ("join", Intent.JOIN)):
            if any(vocabulary.entry(kind, (form,)) for form in token_forms[0]):
                return Reading(intent, language=vocabulary.language_of(kind, first, written))
        language_keyword = self._language_keyword(folded, tokens)
        if language_keyword is not None:
            return language_keyword
        slug = next((self.appeal_keywords[t] for t in tokens if t in self.appeal_keywords), None)
        # Multi-word keywords ("FREE HASSAN") match on the whole folded text.
        if slug is None:
            joined = " ".join(tokens)
            slug = next((s for k, s in self.appeal_keywords.items() if " " in k and k in joined), None)
        yes_word = next((form for form in token_forms[0] if form in self.yes_words), None)
        if yes_word is not None:
            return Reading(Intent.SIGN, slug, vocabulary.language_of("yes", yes_word, written))
        if slug is not None:
            return Reading(Intent.SIGN, slug)
        return Reading(Intent.UNKNOWN)

    def _language_keyword(self, folded: str, tokens: list[str]) -> Reading | None:
        """``TAAL NL``, ``LANGUE français``, ``语言中文``; or a text that is only a language."""
        vocabulary = self.vocabulary
        rest: list[str] | None = None
        if tokens[0] in self._language_openers:
            rest = tokens[1:]
        else:
            # Chinese writes the language after the word without a space.
            opener = next((o for o in self._cjk_openers if folded.lstrip().startswith(o)), None)
            if opener is not None:
                rest = words(folded.lstrip()[len(opener) :])
        if rest is None:
            named = vocabulary.language_named(tokens)
            return Reading(Intent.LANGUAGE, language=named) if named else None
        named = vocabulary.language_named(rest) or vocabulary.language_named(rest[:1])
        if named is None:
            return Reading(Intent.LANGUAGE, unknown_language=" ".join(rest)[:24])
        return Reading(Intent.LANGUAGE, language=named)


def _first_spelling(text: str) -> str:
    found = _WORD.search(_spelling(text))
    return found.group(0) if found else ""
