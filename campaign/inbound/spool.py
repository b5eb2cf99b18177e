"""A local durable spool for inbound texts while the database cannot be reached.

Twilio does not retry inbound SMS, so an answer of 503 would lose the signature.  While
the database is down, each batch is written to its own file (encrypted, fsynced, then
renamed into place) and acknowledged; ``drain`` writes the files to the database once it
answers again and removes each file only after its batch committed.  Replaying a file
twice is harmless: provider message ids are stored once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.fernet import InvalidToken

from campaign.inbound.message import InboundSms
from campaign.storage import db
from campaign.supporters.phones import PhoneVault

log = logging.getLogger("campaign.spool")


class Spool:
    def __init__(self, directory: Path, vault: PhoneVault):
        self.directory = directory
        self.vault = vault

    def append(self, messages: Sequence[InboundSms]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}"
        temporary = self.directory / f".{name}.tmp"
        final = self.directory / f"{name}.spool"
        try:
            with open(temporary, "wb") as handle:
                for message in messages:
                    payload = json.dumps(message.to_json(), ensure_ascii=False).encode()
                    handle.write(self.vault.encrypt_bytes(payload) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            temporary.unlink(missing_ok=True)  # a full disk must not keep half a batch around
            raise
        os.replace(temporary, final)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return final

    def _write(self, final: Path, messages: Sequence[InboundSms]) -> None:
        temporary = final.with_name(f".{final.stem}.tmp")
        with open(temporary, "wb") as handle:
            for message in messages:
                payload = json.dumps(message.to_json(), ensure_ascii=False).encode()
                handle.write(self.vault.encrypt_bytes(payload) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def rewrite(self, change: Callable[[list[InboundSms]], list[InboundSms]]) -> int:
        """Rewrite each pending file through ``change`` (erasure, new key); return files changed.

        ``change`` returns its argument itself to leave a file alone.  The new file replaces
        the old one atomically; an emptied file is removed.
        """
        changed = 0
        for path in self.pending():
            try:
                messages = self.load(path)
            except FileNotFoundError:
                continue  # drained meanwhile
            except (InvalidToken, ValueError, KeyError, TypeError):
                continue  # drain sets it aside
            kept = change(messages)
            if kept is messages:
                continue
            if kept:
                self._write(path, kept)
            else:
                path.unlink(missing_ok=True)
            changed += 1
        return changed

    def remove(self, unwanted: Callable[[InboundSms], bool]) -> int:
        """Drop spooled texts (of an erased supporter); return how many were dropped."""
        dropped = 0

        def change(messages: list[InboundSms]) -> list[InboundSms]:
            nonlocal dropped
            kept = [m for m in messages if not unwanted(m)]
            dropped += len(messages) - len(kept)
            return kept if len(kept) != len(messages) else messages

        self.rewrite(change)
        return dropped

    def pending(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*.spool"))

    def load(self, path: Path) -> list[InboundSms]:
        return [
            InboundSms.from_json(json.loads(self.vault.decrypt_bytes(line)))
            for line in path.read_bytes().splitlines()
            if line.strip()
        ]

    def drain(
        self,
        record: Callable[[list[InboundSms]], object],
        batch: int = 500,
        limit: int | None = None,
        refused: Callable[[BaseException], bool] | None = None,
    ) -> int:
        """Record spooled texts, several files to a transaction; return how many were written.

        Files are read oldest first and joined until a transaction holds about ``batch``
        texts: an outage of a few minutes leaves thousands of small files, and one commit
        each would keep the writer from live webhooks for a minute once the database is
        back.  Each file is removed only after the transaction holding it committed.  With
        ``limit``, drain stops after that many texts, so the caller can serve other work
        between calls.

        Nothing is deleted that was not written.  A file that cannot be read (another secret
        key, a damaged disk) is set aside as ``.unreadable``.  When ``refused`` says an error
        is the database refusing the texts (a constraint, bad data) rather than being away,
        the files of that transaction are tried one at a time, and one refused on its own is
        set aside as ``.refused``, so it cannot hold back the spool behind it.  Either kind
        waits for a person; renamed back to ``.spool``, it is tried again.
        """
        done = 0
        # Several ingest processes share the spool: one drains at a time, the others skip.
        with open(self.directory / "drain.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            group: list[tuple[Path, list[InboundSms]]] = []
            size = 0
            for path in self.pending():
                if limit is not None and done + size >= limit:
                    break
                try:
                    loaded = self.load(path)
                except FileNotFoundError:
                    continue  # drained by a process that held the lock before us
                except (InvalidToken, ValueError, KeyError, TypeError):
                    self._set_aside(path, ".unreadable", "cannot be read (another secret key, or damaged)")
                    continue
                group.append((path, loaded))
                size += len(loaded)
                if size >= batch:
                    done += self._commit_group(record, group, refused)
                    group, size = [], 0
            if group:
                done += self._commit_group(record, group, refused)
        return done

    def set_aside(self) -> list[Path]:
        """Files waiting for a person: unreadable or refused by the database."""
        if not self.directory.exists():
            return []
        return sorted([*self.directory.glob("*.unreadable"), *self.directory.glob("*.refused")])

    def _commit_group(
        self,
        record: Callable[[list[InboundSms]], object],
        group: list[tuple[Path, list[InboundSms]]],
        refused: Callable[[BaseException], bool] | None,
    ) -> int:
        messages = [message for _, loaded in group for message in loaded]
        try:
            if messages:
                record(messages)
        except Exception as error:
            if refused is None or not refused(error):
                raise
            if len(group) == 1:
                self._set_aside(group[0][0], ".refused", f"refused by the database ({db.error_codes(error)})")
                return 0
            return sum(self._commit_group(record, [one], refused) for one in group)
        for path, _ in group:
            path.unlink(missing_ok=True)
        return len(messages)

    @staticmethod
    def _set_aside(path: Path, suffix: str, why: str) -> None:
        aside = path.with_suffix(suffix)
        path.rename(aside)
        log.error("spool file %s %s: set aside as %s for a person to look at", path.name, why, aside.name)
