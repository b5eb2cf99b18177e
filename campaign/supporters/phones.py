"""Phone numbers: normalised to E.164, looked up by a keyed hash, stored encrypted, shown masked.

A clear number lives only in memory while a request is handled; the database gets
the hash and the ciphertext, Redis and logs get the masked form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from campaign.errors import BadRequest, ConfigurationError

MASK = "•••"
# Senders recently seen, by a keyed digest of the number as given: a supporter texting again
# costs no parsing or encryption.  It holds only what the system may keep (hash, ciphertext,
# country, masked form), never the number.
SEEN = 16_384


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


def derived_key(secret_key: str) -> str:
    """The encryption key made from the secret key, used until a first rotation."""
    digest = hmac.new(secret_key.encode(), b"campaign/phone-encrypt/v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def key_fingerprint(key: str | bytes) -> str:
    """A short name for an encryption key that reveals nothing of it."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(b"campaign/key-fingerprint\0" + raw.strip()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Sender:
    """A supporter's number in the forms the system may keep."""

    phone_hash: str
    phone_encrypted: str
    country: str
    masked: str


class PhoneVault:
    """Keyed hashing and encryption of numbers.

    The lookup hash is keyed by the secret key and never changes: it is what links a
    returning supporter (and social actors, and parts of long texts) to what they did
    before.  Encryption uses a keyring: by default one key derived from the secret key;
    after ``campaign keys rotate``, random keys (the current one first) that can be
    replaced without touching the hashes.  Every key of the ring decrypts; only the
    first encrypts.
    """

    def __init__(self, secret_key: str, encryption_keys: Sequence[str] = ()):
        master = secret_key.encode()
        hash_key = hmac.new(master, b"campaign/phone-hash/v1", hashlib.sha256).digest()
        self._hash = hmac.new(hash_key, digestmod=hashlib.sha256)  # keyed once, copied per number
        keys = [k.encode() for k in encryption_keys] or [derived_key(secret_key).encode()]
        try:
            fernets = [Fernet(key) for key in keys]
        except ValueError:
            raise ConfigurationError(
                "CAMPAIGN_ENCRYPTION_KEYS: each key must be 32 url-safe base64-encoded bytes"
            ) from None
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)
        self.key_fingerprints = tuple(key_fingerprint(key) for key in keys)
        self.fingerprint = hmac.new(master, b"campaign/fingerprint", hashlib.sha256).hexdigest()[:16]
        self._seen: dict[str, Sender] = {}

    @property
    def current_key_fingerprint(self) -> str:
        return self.key_fingerprints[0]

    def is_current(self, token: str | bytes) -> bool:
        """Whether a ciphertext was made with the current key (a cheap HMAC check)."""
        try:
            self._current.decrypt(token.encode() if isinstance(token, str) else token)
        except InvalidToken:
            return False
        return True

    def hash(self, e164_number: str) -> str:
        digest = self._hash.copy()
        digest.update(e164_number.encode())
        return digest.hexdigest()

    def encrypt(self, e164_number: str) -> str:
        return self._current.encrypt(e164_number.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("this number was encrypted under another key") from None

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._current.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def reencrypt(self, token: str) -> str:
        """The same number under the current key (raises ValueError if no key reads it)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise ValueError("this number was encrypted under another key") from None

    def sender(self, raw: str, default_region: str | None = None) -> Sender:
        seen_as = self.hash(f"{default_region or ''}\0{raw}")
        known = self._seen.get(seen_as)
        if known is not None:
            return known
        number = normalise(raw, default_region)
        normalised = e164(number)
        sender = Sender(
            phone_hash=self.hash(normalised),
            phone_encrypted=self.encrypt(normalised),
            country=country_of(number),
            masked=mask(number),
        )
        if len(self._seen) >= SEEN:
            self._seen.clear()  # simpler than LRU; the next texts fill it again
        self._seen[seen_as] = sender
        return sender
