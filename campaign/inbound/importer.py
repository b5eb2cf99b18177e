"""Import historical signatures from CSV.

Columns (a header row is required; extra columns are ignored)::

    appeal,phone,signed_at[,channel][,provider]
    hassan,+31612345678,2008-02-27T20:15:00+01:00,sms,kpn

Each bad line is reported with its number and reason and the rest is imported.  A
supporter counts once per appeal, so running the same file twice imports nothing twice.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from campaign.csvread import Lines, header_of
from campaign.errors import BadRequest
from campaign.inbound.recorder import Recorder, SignatureInput
from campaign.live.changes import LiveChanges
from campaign.supporters.phones import PhoneVault

REQUIRED = ("appeal", "phone", "signed_at")
CHANNELS = {"sms", "web", "email", "paper", "whatsapp", "facebook", "import"}
BATCH = 2000


@dataclass
class SignatureImportReport:
    """What a CSV import of signatures did: lines read, signatures new and known, errors by line."""

    lines: int = 0
    imported: int = 0
    already_there: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    changes: LiveChanges = field(default_factory=LiveChanges)


def parse_time(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("signed_at is empty")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"signed_at {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # times without a zone are taken as UTC
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first day Python knows
        raise ValueError(f"signed_at {text!r} is out of range") from None
    if moment > datetime.now(UTC):
        raise ValueError(f"signed_at {text!r} is in the future")
    return moment


def read_rows(handle: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(handle)
    header = [name.strip().lower() for name in header_of(reader)]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise BadRequest(f"line 1: the header lacks {', '.join(missing)} (needs {', '.join(REQUIRED)})")
    reader.fieldnames = header
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def import_signatures(
    recorder: Recorder,
    vault: PhoneVault,
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> SignatureImportReport:
    report = SignatureImportReport()
    appeals = recorder.directory().by_slug
    source = path.name
    batch: list[SignatureInput] = []

    def flush() -> None:
        if not batch:
            return
        added, changes = recorder.record_signatures(batch)
        report.imported += added
        report.already_there += len(batch) - added
        for scope, values in changes.tallies.items():
            report.changes.tallies[scope].update(values)
        batch.clear()

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise BadRequest(f"{path}: {error.strerror}") from None
    with handle:
        lines = Lines(handle)
        try:
            for line, row in read_rows(lines):
                report.lines += 1
                if progress:
                    progress(line)
                try:
                    batch.append(_signature(row, line, source, appeals, vault))
                except (ValueError, BadRequest) as error:
                    report.errors.append((line, str(error)))
                    continue
                if len(batch) >= BATCH:
                    flush()
        except UnicodeDecodeError:
            report.errors.append(
                (report.lines + 2, "the file is not UTF-8; nothing after this line was read")
            )
        except csv.Error as error:
            report.errors.append((report.lines + 2, f"malformed CSV: {error}"))
        flush()
        report.errors = sorted(report.errors + lines.bad)
    return report


# The provider's name lands in History's filters and in every export: a name, never a formula.
PROVIDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def _signature(
    row: dict[str, str], line: int, source: str, appeals: Mapping[str, object], vault: PhoneVault
) -> SignatureInput:
    slug = row.get("appeal", "")
    if not slug:
        raise ValueError("appeal is empty")
    if slug not in appeals:
        raise ValueError(f"no appeal {slug!r}")
    channel = (row.get("channel") or "sms").lower()
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(sorted(CHANNELS))}")
    provider = (row.get("provider") or "import").strip()
    if not PROVIDER_NAME.fullmatch(provider):
        raise ValueError(
            f"provider {provider[:40]!r} is not a plain name (letters, digits, . _ -; at most 32)"
        )
    return SignatureInput(
        appeal_slug=slug,
        sender=vault.sender(row.get("phone", "")),
        channel=channel,
        provider=provider,
        provider_message_id=f"{source}:{line}"[:128],
        received_at=parse_time(row.get("signed_at", "")),
    )
