"""Thank-yous and other replies: templated, localised, never over one SMS."""

from __future__ import annotations

import pytest

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
