"""Thank-yous and other replies: templated, localised, never over one SMS."""

from __future__ import annotations

import pytest

from campaign.inbound import replies, vocabulary
from campaign.inbound.replies import SMS_LIMIT, AppealWords, already_signed, thank_you

HASSAN = AppealWords(person="Hassan", title="Stop the torture of Hassan")


@pytest.mark.parametrize(
    ("count", "language", "expected"),
    [
        (1, "en", "Thank you! You are the first to stand with Hassan. Reply STOP to opt out."),
        (2, "en", "Thank you! You and 1 other stand with Hassan. Reply STOP to opt out."),
        (12345, "en", "Thank you! You and 12,344 others stand with Hassan. Reply STOP to opt out."),
        (12345, "nl", "Dank je! Jij en 12.344 anderen staan achter Hassan. Antwoord STOP om af te melden."),
    ],
)
def test_thank_you(count: int, language: str, expected: str) -> None:
    assert thank_you(HASSAN, count, language) == expected


def test_appeal_template_wins() -> None:
    words = AppealWords("Hassan", "t", "en", {"en": "{count} people for {person}!"})
    assert thank_you(words, 7, None) == "7 people for Hassan!"


def test_long_names_are_shortened_to_fit_one_sms() -> None:
    words = AppealWords(person="A" * 200, title="t")
    text = thank_you(words, 1_000_000, "en")
    assert len(text) <= SMS_LIMIT
    assert text.endswith("Reply STOP to opt out.")


def test_already_signed_tells_the_count() -> None:
    assert "12,345 people" in already_signed(HASSAN, 12345, "en")


EVERY_LANGUAGE = [
    "FIRST",
    "ONE_OTHER",
    "THANK_YOU",
    "ALREADY_SIGNED",
    "CLOSED",
    "NO_APPEAL",
    "STOPPED",
    "STARTED",
]
EVERY_LANGUAGE += ["JOINED", "HELP", "UNKNOWN", "LANGUAGE_SET", "LANGUAGE_UNKNOWN"]


@pytest.mark.parametrize("name", EVERY_LANGUAGE)
def test_each_reply_is_in_every_language_of_the_word_table_and_fits_one_text(name: str) -> None:
    table = getattr(replies, name)
    assert set(table) == set(vocabulary.WORDS), name
    known = ", ".join(code.upper() for code in sorted(vocabulary.WORDS))
    for language, template in table.items():
        text = template.format(
            person="Hassan", others="1.234.567", count="1.234.568", title="t", asked="'KLINGON'", known=known
        )
        assert len(text) <= SMS_LIMIT, (name, language, len(text))


def test_a_reply_missing_in_a_language_is_the_appeals_then_english() -> None:
    assert replies.plain(replies.RECEIVED_PLAIN, "sw", "fr") == "Merci ! Nous avons bien votre message."
    assert replies.plain(replies.RECEIVED_PLAIN, "sw", "sw") == "Thank you! Your message is received."
    assert thank_you(AppealWords("Karim", "t", "fr"), 5, "hi").startswith("Merci ! Vous et 4 autres")


def test_the_appeals_own_template_in_its_language_wins_over_ours() -> None:
    words = AppealWords("Hassan", "t", "nl", {"default": "{count} mensen voor {person}!"})
    assert thank_you(words, 7, "nl") == "7 mensen voor Hassan!"
    assert thank_you(words, 7, "fr").startswith("Merci !")  # ours in the supporter's language
    assert thank_you(words, 7, "hi") == "7 mensen voor Hassan!"  # none in Hindi: the appeal's
