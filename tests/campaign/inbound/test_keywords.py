"""Reading what a supporter wants from any text, in any script and language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.inbound import vocabulary
from campaign.inbound.keywords import Intent, KeywordBook, fold
from campaign.settings import DEFAULT_YES_WORDS

BOOK = KeywordBook(DEFAULT_YES_WORDS, {"HASSAN": "hassan", "KENYA": "kenya", "FREE ALI": "ali"})
# The case: FREE is an appeal keyword, and a keyword anywhere signs, but STOP wins.
FREE = KeywordBook(DEFAULT_YES_WORDS, {"FREE": "free", "HASSAN": "hassan"})

# text, intent, appeal named, language the text names (None: none, or several: JA is nl and de)
CASES = [
    ("JA", Intent.SIGN, None, None),
    ("ja", Intent.SIGN, None, None),
    ("  Ja!! ", Intent.SIGN, None, None),
    ("JA 👍", Intent.SIGN, None, None),
    ("ｊａ", Intent.SIGN, None, None),  # full-width letters from some phone keyboards
    ("jа", Intent.SIGN, None, None),  # a Cyrillic а typed after a Latin j
    ("Yes", Intent.SIGN, None, "en"),
    ("oui", Intent.SIGN, None, "fr"),
    ("Sí", Intent.SIGN, None, "es"),  # the accent tells Spanish from Italian
    ("Sì", Intent.SIGN, None, "it"),
    ("si", Intent.SIGN, None, None),
    ("sim", Intent.SIGN, None, "pt"),
    ("ndio", Intent.SIGN, None, "sw"),
    ("Naam", Intent.SIGN, None, "ar"),
    ("نعم", Intent.SIGN, None, "ar"),
    ("да", Intent.SIGN, None, "ru"),
    ("是的", Intent.SIGN, None, "zh"),
    ("是的，我支持", Intent.SIGN, None, "zh"),
    ("evet", Intent.SIGN, None, "tr"),
    ("Tak!", Intent.SIGN, None, "pl"),
    ("JA KENYA", Intent.SIGN, "kenya", None),
    ("ja, kenya!", Intent.SIGN, "kenya", None),
    ("Kenya", Intent.SIGN, "kenya", None),
    ("hassan", Intent.SIGN, "hassan", None),
    ("Free Ali", Intent.SIGN, "ali", None),
    ("START", Intent.START, None, None),
    ("unstop", Intent.START, None, "en"),
    ("Alta", Intent.START, None, "es"),
    ("help", Intent.HELP, None, None),  # English and Dutch
    ("Help me", Intent.HELP, None, None),
    ("INFO", Intent.HELP, None, None),
    ("Hilfe", Intent.HELP, None, "de"),
    ("aide", Intent.HELP, None, "fr"),
    ("ayuda", Intent.HELP, None, "es"),
    ("msaada", Intent.HELP, None, "sw"),
    ("مساعدة", Intent.HELP, None, "ar"),
    ("помощь", Intent.HELP, None, "ru"),
    ("帮助", Intent.HELP, None, "zh"),
    ("join", Intent.JOIN, None, "en"),
    ("lid", Intent.JOIN, None, "nl"),
    ("jiunge", Intent.JOIN, None, "sw"),
    ("dolacz", Intent.JOIN, None, "pl"),  # Ł folds to L
    ("", Intent.UNKNOWN, None, None),
    ("🙏🙏", Intent.UNKNOWN, None, None),
    ("what is this?", Intent.UNKNOWN, None, None),
    ("'; DROP TABLE signatures; --", Intent.UNKNOWN, None, None),
    ("jazz", Intent.UNKNOWN, None, None),  # a yes-word must be a whole word
    ("unstoppable", Intent.UNKNOWN, None, None),  # so must an opt-out word
    ("Halt den Terror", Intent.UNKNOWN, None, None),
]

# Opt-out first: an opt-out word anywhere, whatever else the text holds.
STOPS = [
    ("STOP", None),
    ("stop please", None),
    ("not FREE, stop texting me", None),
    ("JA stop", None),
    ("Ja KENYA. But STOP sending", None),
    ("Hassan, unsubscribe me", "en"),
    ("please opt-out", "en"),
    ("OPT OUT", "en"),
    ("optout", "en"),
    ("Revoke", "en"),
    ("I quit", "en"),
    ("the END", "en"),
    ("cancel", "en"),
    ("stop all", None),
    ("STOPALL", "en"),
    ("ＳＴＯＰ", None),  # full-width
    ("S\u200bTOP", None),  # a zero-width space inside
    ("SТОP", None),  # Cyrillic Т and О among Latin letters
    ("afmelden", "nl"),
    ("Uitschrijven a.u.b.", "nl"),
    ("Stopp", "de"),
    ("bitte abmelden", "de"),
    ("ARRÊT", "fr"),
    ("arret", "fr"),
    ("oui mais désabonner", "fr"),
    ("BAJA", "es"),
    ("baja por favor", "es"),
    ("ALTO", "es"),
    ("Sí, alto", "es"),
    ("PARAR", None),  # es and pt
    ("sair", "pt"),
    ("Descadastrar", "pt"),
    ("cancella", "it"),
    ("ACHA", "sw"),
    ("ndio acha", "sw"),
    ("sitisha", "sw"),
    ("توقف", "ar"),
    ("نعم توقف", "ar"),
    ("تـوقـف", "ar"),  # with tatweel
    ("إيقاف", "ar"),
    ("الغاء الاشتراك", "ar"),  # without the hamza
    ("СТОП", "ru"),
    ("да стоп", "ru"),
    ("CTOП", "ru"),  # Latin C, T, O before a Cyrillic П
    ("Отписаться", "ru"),
    ("停止", "zh"),
    ("请停止发送", "zh"),  # Chinese: the word anywhere, no spaces needed
    ("是的停止", "zh"),
    ("退訂", "zh"),  # traditional characters
    ("TD", "zh"),
    ("RET", "tr"),
    ("İptal", "tr"),
    ("evet ama durdur", "tr"),
    ("Rezygnuję", "pl"),
    ("wypisz mnie", "pl"),
]

STOP_SAMPLES = {
    "STOP",
    "stop",
    "СТОП",
    "BAJA",
    "ALTO",
    "PARAR",
    "توقف",
    "ACHA",
    "Arrêt",
    "unsubscribe",
    "RET",
    "TD",
}

# Language keywords: the forms documented in docs/messaging.md.
LANGUAGES = [
    ("FR", "fr"),
    ("nl", "nl"),
    ("LANG FR", "fr"),
    ("Language: English", "en"),
    ("TAAL NL", "nl"),
    ("taal engels", "en"),
    ("LANGUE français", "fr"),
    ("langue FR svp", "fr"),
    ("SPRACHE DE", "de"),
    ("Sprache Deutsch", "de"),
    ("IDIOMA ES", "es"),
    ("idioma español", "es"),
    ("IDIOMA PT", "pt"),
    ("língua portuguesa", None),  # not a language's name: an unknown language
    ("LINGUA IT", "it"),
    ("lugha Kiswahili", "sw"),
    ("اللغة العربية", "ar"),
    ("ЯЗЫК RU", "ru"),
    ("язык русский", "ru"),
    ("语言中文", "zh"),
    ("语言 ZH", "zh"),
    ("DİL TR", "tr"),
    ("dil türkçe", "tr"),
    ("JĘZYK PL", "pl"),
    ("Français", "fr"),
    ("Kiswahili", "sw"),
    ("LANG XY", None),
    ("TAAL klingon", None),
    ("lang", None),
]


@pytest.mark.parametrize(("text", "intent", "appeal", "language"), CASES)
def test_reading(text: str, intent: Intent, appeal: str | None, language: str | None) -> None:
    reading = BOOK.read(text)
    assert (reading.intent, reading.appeal_slug, reading.language) == (intent, appeal, language)


@pytest.mark.parametrize(("text", "language"), STOPS)
def test_an_opt_out_word_anywhere_opts_out(text: str, language: str | None) -> None:
    for book in (BOOK, FREE):
        reading = book.read(text)
        assert (reading.intent, reading.appeal_slug, reading.language) == (Intent.STOP, None, language)


def test_free_alone_still_signs() -> None:
    assert (FREE.read("free").intent, FREE.read("free").appeal_slug) == (Intent.SIGN, "free")


@pytest.mark.parametrize(("text", "language"), LANGUAGES)
def test_language_keywords(text: str, language: str | None) -> None:
    reading = BOOK.read(text)
    assert (reading.intent, reading.language) == (Intent.LANGUAGE, language)
    if language is None:
        assert reading.unknown_language is not None


def test_every_opt_out_word_of_the_table_opts_out_alone_and_in_a_sentence() -> None:
    for language, kinds in vocabulary.WORDS.items():
        for word in kinds["stop"]:
            for text in (word, word.lower(), f"JA HASSAN {word} thanks", f"{fold(word)}!"):
                assert BOOK.read(text).intent is Intent.STOP, (language, text)


def test_no_table_word_is_an_opt_out_word_of_another_kind() -> None:
    """A yes-, help-, join- or opt-in word that held an opt-out word would never be read as itself."""
    stops = {fold(w) for kinds in vocabulary.WORDS.values() for w in kinds["stop"]}
    for language, kinds in vocabulary.WORDS.items():
        for kind, found in kinds.items():
            if kind != "stop":
                assert not {fold(w) for w in found} & stops, (language, kind)


def test_every_language_with_a_yes_word_has_every_kind_and_a_source() -> None:
    for language in ("nl", "de", "fr", "es", "pt", "it", "sw", "ar", "ru", "zh", "tr", "pl", "en"):
        assert set(vocabulary.WORDS[language]) == set(vocabulary.KINDS), language
        assert all(vocabulary.WORDS[language].values()), language
        assert vocabulary.SOURCES[language], language


def test_yes_words_are_configurable() -> None:
    book = KeywordBook(["TAK"], {})
    assert book.read("tak").intent is Intent.SIGN
    assert book.read("ja").intent is Intent.UNKNOWN


def test_words_are_extendable_without_code() -> None:
    book = KeywordBook(
        ["JA"],
        {},
        {
            "stop": {"nl": ["KAPPEN"]},
            "help": {"fr": ["SOS"]},
            "yes": {"hi": ["HAAN"]},
            "language": {"hi": ["BHASHA"]},
        },
    )
    assert (book.read("nu kappen ermee").intent, book.read("nu kappen").language) == (Intent.STOP, "nl")
    assert (book.read("sos").intent, book.read("sos").language) == (Intent.HELP, "fr")
    assert (book.read("haan").intent, book.read("haan").language) == (Intent.SIGN, "hi")
    assert (book.read("BHASHA HI").intent, book.read("BHASHA HI").language) == (Intent.LANGUAGE, "hi")
    assert BOOK.read("kappen").intent is Intent.UNKNOWN


def test_the_documented_words_are_the_table() -> None:
    """docs/messaging.md lists every word per language with its source, as the code has them."""
    page = (Path(__file__).resolve().parents[3] / "docs" / "messaging.md").read_text()
    section = page.split("### Words per language", 1)[1].split("### ", 1)[0]
    documented: dict[str, dict[str, tuple[str, ...]]] = {}
    sources: dict[str, str] = {}
    for line in section.splitlines():
        found = re.match(r"\| [^|]+ \(`(\w+)`\) \|(.*)\|$", line)
        if found:
            cells = [cell.strip() for cell in found.group(2).split("|")]
            documented[found.group(1)] = {
                kind: tuple(re.findall(r"`([^`]+)`", cell))
                for kind, cell in zip(vocabulary.KINDS, cells, strict=False)
            }
            sources[found.group(1)] = cells[-1]
    assert documented == vocabulary.WORDS
    assert sources == vocabulary.SOURCES


@settings(max_examples=300, deadline=None)
@given(before=st.text(max_size=80), after=st.text(max_size=80), word=st.sampled_from(sorted(STOP_SAMPLES)))
def test_any_text_holding_an_opt_out_word_opts_out(before: str, after: str, word: str) -> None:
    """Whatever surrounds it, an opt-out word set apart by spaces opts out; reading never fails."""
    assert FREE.read(f"{before} {word} {after}").intent is Intent.STOP


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_reading_any_text_never_fails(text: str) -> None:
    reading = FREE.read(text)
    assert reading.language is None or reading.language in vocabulary.WORDS


@given(st.text(max_size=50))
def test_a_remembered_reading_is_the_reading(text: str) -> None:
    book = KeywordBook(DEFAULT_YES_WORDS, {"HASSAN": "hassan"})
    first = book.read(text)
    assert book.read(text) == first == book._read(text)
