"""The keys that encrypt supporters' numbers: rotation, resumable at any point.

A rotation has two steps, so no running process ever meets a number it cannot read:

1. ``campaign keys rotate`` puts a new key first in the keyring (the old ones stay, to
   decrypt), then re-encrypts every number not yet under it, batch by batch.  Interrupted,
   it is simply run again: each row is either still under an old key (readable through the
   keyring) or already under the new one.
2. ``campaign keys retire``, once every process was restarted with the new keyring,
   re-encrypts what old processes wrote meanwhile and drops the old keys.

The lookup hash of the numbers is keyed by the secret key and is not part of this: it
links returning supporters, social actors and parts of long texts, and stays as it is.

The keyring lives in ``encryption.keys`` in the data dir, or in ``CAMPAIGN_ENCRYPTION_KEYS``
(then this prints what to set instead of writing it).  The database remembers which key
the numbers are under once a rotation is finished, and a process without that key refuses
to start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

from cryptography.fernet import Fernet
from sqlalchemy import Engine, Table, bindparam, delete, insert, select, update

from campaign.errors import BadRequest, ConfigurationError
from campaign.inbound.message import InboundSms
from campaign.inbound.spool import Spool
from campaign.settings import Settings
from campaign.storage.models import Supporter, SystemValue
from campaign.supporters.phones import PhoneVault, derived_key, key_fingerprint

PENDING = "encryption_key_pending"  # fingerprint of the key a rotation moves to
CURRENT = "encryption_key_fingerprint"  # the key every number is under, after a finished rotation
BATCH = 500


def check_keyring(engine: Engine, vault: PhoneVault) -> None:
    """Refuse to run without the key the stored numbers were re-encrypted with."""
    stored = _value(engine, CURRENT)
    if stored is not None and stored not in vault.key_fingerprints:
        raise ConfigurationError(
            f"CAMPAIGN_ENCRYPTION_KEYS: the stored numbers are encrypted with key {stored}, which "
            f"this process does not have (it has {', '.join(vault.key_fingerprints)}); "
            "use the keyring `campaign keys rotate` wrote"
        )


@dataclass(frozen=True)
class Keyring:
    keys: tuple[str, ...]  # current first
    in_environment: bool  # CAMPAIGN_ENCRYPTION_KEYS, or the secret key itself comes from there

    @classmethod
    def of(cls, settings: Settings) -> Keyring:
        keys = settings.resolved_encryption_keys()
        from_file = not settings.encryption_keys.strip() and settings.keyring_file.exists()
        in_environment = bool(settings.encryption_keys.strip()) or (
            not from_file and bool(settings.secret_key)
        )
        return cls(keys or (derived_key(settings.resolved_secret_key()),), in_environment)

    @property
    def fingerprints(self) -> list[str]:
        return [key_fingerprint(k) for k in self.keys]


@dataclass
class Step:
    """What a ``rotate`` or ``retire`` did, and what a person must do next."""

    key: str  # fingerprint of the current key
    reencrypted: int = 0
    unreadable: int = 0
    spooled_texts: int = 0
    retired: list[str] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)
    finished: bool = False
    begun: bool = False  # a rotation was begun and waits for the new keyring everywhere


def write_keyring(path: Path, keys: list[str] | tuple[str, ...]) -> None:
    """Replace the keyring file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{key}\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def begin(settings: Settings, engine: Engine, new_key: str | None = None) -> tuple[Keyring, Step | None]:
    """Start a rotation, or check that the unfinished one can go on.

    Returns the keyring to re-encrypt with, and a step with instructions when this process
    cannot go on yet (the new key must first be set in the environment of every process).
    """
    ring = Keyring.of(settings)
    pending = _value(engine, PENDING)
    if new_key is not None:
        new_key = new_key.strip()
        try:
            Fernet(new_key)
        except ValueError:
            raise BadRequest(
                "--new-key: must be 32 url-safe base64-encoded bytes (make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from None
    if pending is not None:
        if new_key is not None and key_fingerprint(new_key) != pending:
            raise BadRequest(
                f"a rotation to key {pending} is unfinished; run `campaign keys rotate` without --new-key "
                "to finish it first"
            )
        if ring.fingerprints[0] != pending:
            return ring, Step(
                key=ring.fingerprints[0],
                instructions=[
                    f"a rotation to key {pending} is unfinished, but that key is not first in the "
                    "keyring here (CAMPAIGN_ENCRYPTION_KEYS); set the keyring printed when it began on "
                    "every process, restart them, and run `campaign keys rotate` again (or give up on "
                    "it with `campaign keys rotate --abandon`)"
                ],
            )
        _set(engine, CURRENT, pending)  # from now on a process needs the new key to start
        return ring, None
    key = new_key or Fernet.generate_key().decode()
    if key_fingerprint(key) in ring.fingerprints:
        raise BadRequest(f"key {key_fingerprint(key)} is already in the keyring; give a new one")
    new_ring = Keyring((key, *ring.keys), ring.in_environment)
    if ring.in_environment:
        _set(engine, PENDING, key_fingerprint(key))
        return new_ring, Step(
            key=ring.fingerprints[0],
            begun=True,
            instructions=[
                f"new key {key_fingerprint(key)}; set on every process (ingest, dashboard, commands):",
                f"  CAMPAIGN_ENCRYPTION_KEYS={','.join(new_ring.keys)}",
                "restart them, then run `campaign keys rotate` again (with that setting) to re-encrypt",
            ],
        )
    # The file before the mark: a crash in between leaves an unused key, never a lost one.
    write_keyring(settings.keyring_file, new_ring.keys)
    _set(engine, PENDING, key_fingerprint(key))
    _set(engine, CURRENT, key_fingerprint(key))
    return new_ring, None


def reencrypt(
    engine: Engine,
    vault: PhoneVault,
    *,
    batch: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Re-encrypt every number not under the vault's current key; (re-encrypted, unreadable).

    Each batch commits on its own; a row erased or re-encrypted meanwhile is left alone.
    """
    done = unreadable = 0
    last_id = 0
    table = cast(Table, Supporter.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.phone_encrypted == bindparam("old"))
        .values(phone_encrypted=bindparam("new"))
    )
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Supporter.id, Supporter.phone_encrypted)
                .where(Supporter.id > last_id, Supporter.phone_encrypted.is_not(None))
                .order_by(Supporter.id)
                .limit(batch)
            ).all()
        if not rows:
            return done, unreadable
        last_id = rows[-1].id
        changes = []
        for row_id, token in rows:
            if token is None or vault.is_current(token):
                continue
            try:
                changes.append({"row_id": row_id, "old": token, "new": vault.reencrypt(token)})
            except ValueError:
                unreadable += 1
        if changes:
            with engine.begin() as connection:
                connection.execute(statement, changes)
            done += len(changes)
        if on_batch is not None:
            on_batch(done)


def rekey_spool(spool: Spool, vault: PhoneVault) -> int:
    """Spooled texts under the new key (files and the numbers inside); returns files rewritten."""

    def change(messages: list[InboundSms]) -> list[InboundSms]:
        return [
            replace(m, sender=replace(m.sender, phone_encrypted=vault.reencrypt(m.sender.phone_encrypted)))
            for m in messages
        ]

    return spool.rewrite(change)


def retire(settings: Settings, engine: Engine, vault: PhoneVault) -> Step:
    """Drop every key but the current one, once no number is under them any more."""
    ring = Keyring.of(settings)
    current = ring.fingerprints[0]
    if vault.current_key_fingerprint != current:
        raise ConfigurationError("the keyring changed while this command ran; run it again")
    step = Step(key=current)
    if len(ring.keys) == 1 and _value(engine, PENDING) is None:
        step.instructions = [f"nothing to retire: key {current} is the only key"]
        return step
    step.reencrypted, step.unreadable = reencrypt(engine, vault)
    step.retired = ring.fingerprints[1:]
    if ring.in_environment:
        if step.retired:
            step.instructions = [
                "every number is under the current key; set on every process and restart them:",
                f"  CAMPAIGN_ENCRYPTION_KEYS={ring.keys[0]}",
            ]
    elif len(ring.keys) > 1:
        write_keyring(settings.keyring_file, ring.keys[:1])
    with engine.begin() as connection:
        connection.execute(delete(SystemValue).where(SystemValue.name.in_([PENDING, CURRENT])))
        connection.execute(insert(SystemValue).values(name=CURRENT, value=current))
    step.finished = True
    return step


def abandon(engine: Engine, vault: PhoneVault) -> str:
    """Give up an unfinished rotation whose new key never reached this keyring.

    Allowed only while every stored number is readable without that key; returns its
    fingerprint.
    """
    pending = _value(engine, PENDING)
    if pending is None:
        raise BadRequest("no rotation is unfinished")
    if pending in vault.key_fingerprints:
        raise BadRequest(f"key {pending} is in this keyring; finish with `campaign keys rotate`")
    last_id = 0
    while True:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Supporter.id, Supporter.phone_encrypted)
                .where(Supporter.id > last_id, Supporter.phone_encrypted.is_not(None))
                .order_by(Supporter.id)
                .limit(BATCH)
            ).all()
        if not rows:
            break
        last_id = rows[-1].id
        for _, token in rows:
            try:
                vault.decrypt(token or "")
            except ValueError:
                raise BadRequest(
                    f"some numbers are already under key {pending}; finish the rotation instead"
                ) from None
    with engine.begin() as connection:
        connection.execute(delete(SystemValue).where(SystemValue.name == PENDING))
        connection.execute(
            delete(SystemValue).where(SystemValue.name == CURRENT, SystemValue.value == pending)
        )
    return pending


def _value(engine: Engine, name: str) -> str | None:
    with engine.connect() as connection:
        return connection.scalar(select(SystemValue.value).where(SystemValue.name == name))


def _set(engine: Engine, name: str, value: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(SystemValue).where(SystemValue.name == name))
        connection.execute(insert(SystemValue).values(name=name, value=value))
