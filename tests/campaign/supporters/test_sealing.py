"""Tokens written by ``FernetWriter`` are Fernet's own: any Fernet with the key reads them."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from campaign.supporters.sealing import FernetWriter


@pytest.mark.parametrize("data", [b"", b"+31612345678", b"+3161234567890123", b"x" * 100])
def test_fernet_reads_what_the_writer_sealed(data: bytes) -> None:
    key = Fernet.generate_key()
    token = FernetWriter(key).encrypt(data)
    assert Fernet(key).decrypt(token) == data
    assert MultiFernet([Fernet(Fernet.generate_key()), Fernet(key)]).decrypt(token) == data
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(token)


def test_the_token_carries_its_time_and_a_fresh_iv() -> None:
    key = Fernet.generate_key()
    writer = FernetWriter(key)
    token = writer.encrypt(b"+31612345678", at=1_200_000_000)
    assert Fernet(key).extract_timestamp(token) == 1_200_000_000
    assert writer.encrypt(b"+31612345678") != writer.encrypt(b"+31612345678")


def test_a_bad_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 url-safe"):
        FernetWriter(b"c2hvcnQ=")
