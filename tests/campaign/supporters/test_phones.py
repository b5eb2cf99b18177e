"""Numbers: normalised, hashed with a key, encrypted, masked."""

from __future__ import annotations

import pytest

from campaign.supporters.phones import InvalidNumber, PhoneVault, country_of, e164, mask, normalise

VAULT = PhoneVault("test-secret")


@pytest.mark.parametrize(
    ("raw", "region", "expected", "country", "masked"),
    [
        ("+31612345678", None, "+31612345678", "NL", "+31 6 ••• ••• 78"),
        ("31612345678", None, "+31612345678", "NL", "+31 6 ••• ••• 78"),  # Vonage msisdn
        ("0612345678", "NL", "+31612345678", "NL", "+31 6 ••• ••• 78"),  # local, region from provider
        ("+254 712 345 678", None, "+254712345678", "KE", "+254 7 ••• ••• 78"),
        ("+1 (415) 555-0134", None, "+14155550134", "US", "+1 4 ••• ••• 34"),
    ],
)
def test_normalise_and_mask(raw: str, region: str | None, expected: str, country: str, masked: str) -> None:
    number = normalise(raw, region)
    assert e164(number) == expected
    assert country_of(number) == country
    assert mask(number) == masked


@pytest.mark.parametrize("raw", ["", "   ", "+999", "Amnesty", "+31 6", "1" * 40, "0612345678"])
def test_unreadable_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        normalise(raw)


def test_hash_is_keyed_and_stable() -> None:
    assert VAULT.hash("+31612345678") == PhoneVault("test-secret").hash("+31612345678")
    assert VAULT.hash("+31612345678") != PhoneVault("another-secret").hash("+31612345678")
    assert "31612345678" not in VAULT.hash("+31612345678")


def test_encryption_round_trip_and_other_keys_fail() -> None:
    token = VAULT.encrypt("+31612345678")
    assert "31612345678" not in token
    assert VAULT.decrypt(token) == "+31612345678"
    with pytest.raises(ValueError, match="another key"):
        PhoneVault("another-secret").decrypt(token)


def test_sender_keeps_no_clear_number() -> None:
    sender = VAULT.sender("+31612345678")
    assert "612345678" not in repr(sender)
    assert sender.country == "NL"


def test_a_sender_seen_before_is_not_worked_out_again() -> None:
    vault = PhoneVault("test-secret")
    first = vault.sender("+31612345678")
    assert vault.sender("+31612345678") is first
    assert vault.sender("0612345678", "NL").phone_hash == first.phone_hash
    # What it keeps is what the system may keep: no key or value holds the number.
    for key, sender in vault._seen.items():
        assert "612345678" not in key and "612345678" not in repr(sender)


def test_an_invalid_number_is_refused_every_time() -> None:
    vault = PhoneVault("test-secret")
    for _ in range(2):
        with pytest.raises(InvalidNumber):
            vault.sender("+999")
