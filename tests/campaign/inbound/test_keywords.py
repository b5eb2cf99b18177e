"""Reading what a supporter wants from any text, in any script."""

from __future__ import annotations

import pytest

from campaign.inbound.keywords import Intent, KeywordBook
from campaign.settings import DEFAULT_YES_WORDS

BOOK = KeywordBook(DEFAULT_YES_WORDS, {"HASSAN": "hassan", "KENYA": "kenya", "FREE ALI": "ali"})

# text, intent, appeal named, language of the yes-word
CASES = [
    ("JA", Intent.SIGN, None, "nl"),
    ("ja", Intent.SIGN, None, "nl"),
    ("  Ja!! ", Intent.SIGN, None, "nl"),
    ("JA 👍", Intent.SIGN, None, "nl"),
    ("ｊａ", Intent.SIGN, None, "nl"),  # full-width letters from some phone keyboards
    ("Yes", Intent.SIGN, None, "en"),
    ("oui", Intent.SIGN, None, "fr"),
    ("Sí", Intent.SIGN, None, "es"),
    ("si", Intent.SIGN, None, "es"),
    ("ndio", Intent.SIGN, None, "sw"),
    ("Naam", Intent.SIGN, None, "ar"),
    ("نعم", Intent.SIGN, None, "ar"),
    ("да", Intent.SIGN, None, "ru"),
    ("JA KENYA", Intent.SIGN, "kenya", "nl"),
    ("ja, kenya!", Intent.SIGN, "kenya", "nl"),
    ("Kenya", Intent.SIGN, "kenya", None),
    ("hassan", Intent.SIGN, "hassan", None),
    ("Free Ali", Intent.SIGN, "ali", None),
    ("STOP", Intent.STOP, None, None),
    ("stop please", Intent.STOP, None, None),
    ("Stopp", Intent.STOP, None, None),
    ("ARRÊT", Intent.STOP, None, None),
    ("arret", Intent.STOP, None, None),
    ("unsubscribe", Intent.STOP, None, None),
    ("START", Intent.START, None, None),
    ("help", Intent.HELP, None, None),
    ("INFO", Intent.HELP, None, None),
    ("join", Intent.JOIN, None, None),
    ("lid", Intent.JOIN, None, None),
    ("", Intent.UNKNOWN, None, None),
    ("🙏🙏", Intent.UNKNOWN, None, None),
    ("what is this?", Intent.UNKNOWN, None, None),
    ("'; DROP TABLE signatures; --", Intent.UNKNOWN, None, None),
    ("jazz", Intent.UNKNOWN, None, None),  # a yes-word must be a whole word
]


@pytest.mark.parametrize(("text", "intent", "appeal", "language"), CASES)
def test_reading(text: str, intent: Intent, appeal: str | None, language: str | None) -> None:
    reading = BOOK.read(text)
    assert (reading.intent, reading.appeal_slug, reading.language) == (intent, appeal, language)


def test_yes_words_are_configurable() -> None:
    book = KeywordBook(["TAK"], {})
    assert book.read("tak").intent is Intent.SIGN
    assert book.read("ja").intent is Intent.UNKNOWN
