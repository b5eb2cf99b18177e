"""Phone numbers: normalised to E.164, looked up by a keyed hash, stored encrypted, shown masked.

A clear number lives only in memory while a request is handled; the database gets
the hash and the ciphertext, Redis and logs get the masked form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken

from campaign.errors import BadRequest

MASK = "•••"


class InvalidNumber(BadRequest):
    code = "invalid_number"


def normalise(raw: str, default_region: str | None = None) -> phonenumbers.PhoneNumber:
    """Parse a sender as providers send it ("+31612345678", "31612345678", "0612345678")."""
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("the sender's number is missing")
    if len(text) > 32:
        raise InvalidNumber("the sender's number is too long")
    # Vonage sends msisdn without the plus; a bare run of 8+ digits is international.
    if text.isdigit() and len(text) >= 8 and not text.startswith("0"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidNumber(f"the sender's number could not be read ({error.error_type})") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidNumber("the sender's number is not a possible phone number")
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def country_of(number: phonenumbers.PhoneNumber) -> str:
    """ISO 3166 alpha-2 of the number, or "ZZ" when it names no single country."""
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "001" else "ZZ"


def mask(number: phonenumbers.PhoneNumber) -> str:
    """``+31 6 ••• ••• 78``: country code, first national digit, last two digits."""
    national = phonenumbers.national_significant_number(number)
    head = national[:1] if len(national) > 6 else ""
    return f"+{number.country_code} {head} {MASK} {MASK} {national[-2:]}".replace("  ", " ")


@dataclass(frozen=True, slots=True)
class Sender:
    """A supporter's number in the forms the system may keep."""

    phone_hash: str
    phone_encrypted: str
    country: str
    masked: str


class PhoneVault:
    """Keyed hashing and encryption of numbers with keys derived from the secret key."""

    def __init__(self, secret_key: str):
        master = secret_key.encode()
        self._hash_key = hmac.new(master, b"campaign/phone-hash/v1", hashlib.sha256).digest()
        encryption_key = hmac.new(master, b"campaign/phone-encrypt/v1", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(encryption_key))
        self.fingerprint = hmac.new(master, b"campaign/fingerprint", hashlib.sha256).hexdigest()[:16]

    def hash(self, e164_number: str) -> str:
        return hmac.new(self._hash_key, e164_number.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, e164_number: str) -> str:
        return self._fernet.encrypt(e164_number.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("this number was encrypted under another key") from None

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def sender(self, raw: str, default_region: str | None = None) -> Sender:
        number = normalise(raw, default_region)
        normalised = e164(number)
        return Sender(
            phone_hash=self.hash(normalised),
            phone_encrypted=self.encrypt(normalised),
            country=country_of(number),
            masked=mask(number),
        )
