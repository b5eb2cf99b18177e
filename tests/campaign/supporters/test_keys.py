"""Key rotation end to end: numbers re-encrypted, returning supporters still recognised,
an interrupted rotation safe and resumable, the spool readable, old keys retired."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from starlette.testclient import TestClient

from campaign.errors import BadRequest, ConfigurationError
from campaign.inbound.spool import Spool
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import AuditEntry, Supporter
from campaign.supporters import keys, privacy
from campaign.supporters.phones import PhoneVault
from ingest.app import create_app
from tests.campaign.supporters.test_privacy import cli, sms
from tests.conftest import PUBLIC_URL, post_twilio, twilio_form

NUMBERS = ["+31612345678", "+32470123456", "+4915112345678", "+254712345678", "+31687654321"]


def in_data_dir(settings: Settings) -> Settings:
    """The embedded default: the secret key (and so the keyring) lives in the data dir."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "secret.key").write_text(settings.secret_key + "\n")
    return settings.model_copy(update={"secret_key": ""})


def stored(rt: Runtime) -> dict[int, str]:
    with rt.engine.connect() as connection:
        return dict(connection.execute(select(Supporter.id, Supporter.phone_encrypted)).all())  # type: ignore[arg-type]


def supporters(rt: Runtime) -> int:
    with rt.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Supporter)) or 0)


@pytest.mark.usefixtures("hassan", "kenya")
def test_rotation_in_the_data_dir_end_to_end(settings: Settings, runtime: Runtime, tmp_path: Path) -> None:
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL) as client:
        for i, number in enumerate(NUMBERS):
            assert post_twilio(client, twilio_form(f"SMk{i}", number, "JA")).status_code == 200
    before = stored(runtime)
    ids = {n: privacy.find(runtime.engine, runtime.vault, n).supporter_id for n in NUMBERS}

    local = in_data_dir(settings)
    ring, waiting = keys.begin(local, runtime.engine)
    assert waiting is None and len(ring.keys) == 2
    assert local.keyring_file.read_text().splitlines() == list(ring.keys)
    assert local.keyring_file.stat().st_mode & 0o077 == 0
    rotating = Runtime.open(local, migrate=False)
    assert rotating.vault.current_key_fingerprint == ring.fingerprints[0]

    # Interrupted after the first batch: some numbers are under the new key, some not.
    def crash(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        keys.reencrypt(rotating.engine, rotating.vault, batch=2, on_batch=crash)
    halfway = stored(rotating)
    current = [i for i, token in halfway.items() if rotating.vault.is_current(token)]
    assert len(current) == 2 and halfway != before
    assert {rotating.vault.decrypt(t) for t in halfway.values()} == set(NUMBERS)
    # Meanwhile the ingest path recognises a returning supporter, whatever key their number is under.
    with TestClient(create_app(local, rotating), base_url=PUBLIC_URL) as client:
        for i, number in enumerate(NUMBERS[:3]):
            assert post_twilio(client, twilio_form(f"SMr{i}", number, "JA KENYA")).status_code == 200
    assert supporters(rotating) == len(NUMBERS)
    assert rotating.live.total("kenya") == 3
    # A process still on the old key spooled a text while the database was away.
    Spool(settings.spool_dir, runtime.vault).append([sms(runtime, NUMBERS[4], "JA KENYA", "SMspooled")])

    # Run again: it resumes (no second new key), and a different key is refused meanwhile.
    with pytest.raises(BadRequest, match="unfinished"):
        keys.begin(local, rotating.engine, new_key=Fernet.generate_key().decode())
    ring_again, waiting = keys.begin(local, rotating.engine)
    assert waiting is None and ring_again.keys == ring.keys
    assert keys.rekey_spool(Spool(local.spool_dir, rotating.vault), rotating.vault) == 1
    done, unreadable = keys.reencrypt(rotating.engine, rotating.vault, batch=2)
    assert (done, unreadable) == (len(NUMBERS) - 2, 0)
    assert all(rotating.vault.is_current(t) for t in stored(rotating).values())

    step = keys.retire(local, rotating.engine, rotating.vault)
    assert step.finished and step.retired == [ring.fingerprints[1]] and step.reencrypted == 0
    assert local.keyring_file.read_text().splitlines() == [ring.keys[0]]
    rotating.close()

    after = Runtime.open(local, migrate=False)
    try:
        # Same hashes: every supporter is found as before; every number decrypts with the new key only.
        assert {n: privacy.find(after.engine, after.vault, n).supporter_id for n in NUMBERS} == ids
        assert sorted(after.vault.decrypt(t) for t in stored(after).values()) == sorted(NUMBERS)
        old_vault = PhoneVault(settings.secret_key)
        for token in stored(after).values():
            with pytest.raises(ValueError):
                old_vault.decrypt(token)
        exported = privacy.export(after.engine, after.vault, NUMBERS[0], actor="test")
        assert exported["number"] == NUMBERS[0]
        assert after.live.refresh(after.engine, after.vault, force=True) == []
        figures = after.live.figures("hassan")
        assert figures is not None and all("•••" in r["number"] for r in figures.recent)
        # The spooled text, re-keyed, still drains and counts once for the right person.
        drained = Spool(local.spool_dir, after.vault).drain(after.recorder.record)
        assert drained == 1 and supporters(after) == len(NUMBERS)
    finally:
        after.close()
    # A process still holding only the old key refuses to start, in one clear line.
    with pytest.raises(
        ConfigurationError, match="CAMPAIGN_ENCRYPTION_KEYS: the stored numbers are encrypted"
    ):
        Runtime.open(settings.model_copy(update={"data_dir": tmp_path / "elsewhere"}), migrate=False)


@pytest.mark.usefixtures("hassan")
def test_rotation_with_keys_in_the_environment(settings: Settings, runtime: Runtime, tmp_path: Path) -> None:
    runtime.recorder.record([sms(runtime, n, "JA", f"SMe{i}") for i, n in enumerate(NUMBERS[:2])])
    lost = cli(settings, "keys", "rotate")  # begun, but its printed keyring never set anywhere
    assert lost.returncode == 0, lost.stderr
    abandoned = cli(settings, "keys", "rotate", "--abandon")
    assert abandoned.returncode == 0 and "abandoned" in abandoned.stdout, abandoned.stderr
    begun = cli(settings, "keys", "rotate")
    assert begun.returncode == 0, begun.stderr
    assert re.findall(r"CAMPAIGN_ENCRYPTION_KEYS=(\S+)", begun.stdout) != re.findall(
        r"CAMPAIGN_ENCRYPTION_KEYS=(\S+)", lost.stdout
    )
    (keyring,) = re.findall(r"CAMPAIGN_ENCRYPTION_KEYS=(\S+)", begun.stdout)
    assert "run `campaign keys rotate` again" in begun.stdout
    assert not (settings.data_dir / "encryption.keys").exists()
    assert all(PhoneVault(settings.secret_key).is_current(t) for t in stored(runtime).values())

    not_yet = cli(settings, "keys", "rotate")
    assert not_yet.returncode == 1 and "is not first in the keyring here" in not_yet.stdout

    rotated = cli(settings, "keys", "rotate", CAMPAIGN_ENCRYPTION_KEYS=keyring)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 number(s) re-encrypted under key" in rotated.stdout
    retired = cli(settings, "keys", "retire", CAMPAIGN_ENCRYPTION_KEYS=keyring)
    assert retired.returncode == 0, retired.stderr
    new_key = keyring.split(",")[0]
    assert f"CAMPAIGN_ENCRYPTION_KEYS={new_key}\n" in retired.stdout

    refused = cli(settings, "appeal", "list")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "error: CAMPAIGN_ENCRYPTION_KEYS: the stored numbers are encrypted with key" in refused.stderr
    exported = cli(settings, "supporter", "export", NUMBERS[1], CAMPAIGN_ENCRYPTION_KEYS=new_key)
    assert exported.returncode == 0, exported.stderr
    assert f'"number": "{NUMBERS[1]}"' in exported.stdout
    with runtime.engine.connect() as connection:
        audited = connection.execute(
            select(AuditEntry.action, AuditEntry.subject, AuditEntry.detail).where(
                AuditEntry.action.like("keys.%")
            )
        ).all()
    assert [a for a, _, _ in audited] == [
        "keys.rotate",
        "keys.abandon",
        "keys.rotate",
        "keys.rotate",
        "keys.retire",
    ]
    assert all(new_key not in f"{s}{d}" for _, s, d in audited), "fingerprints only, never a key"
