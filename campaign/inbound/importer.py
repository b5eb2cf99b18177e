"""Import historical signatures from CSV.

Columns (a header row is required; extra columns are ignored)::

    appeal,phone,signed_at[,channel][,provider]
    hassan,+31612345678,2008-02-27T20:15:00+01:00,sms,kpn

Each bad line is reported with its number and reason and the rest is imported.  A
supporter counts once per appeal, so running the same file twice imports nothing twice.

Reading a line's number (parsing, hashing, encryption) costs more than writing it, so a
large file's lines are checked in worker processes, one per core, in chunks, while this
process writes the batches checked before (in file order, so every line keeps its number).
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from campaign.csvread import Lines, header_of
from campaign.errors import BadRequest
from campaign.inbound.recorder import Recorder, SignatureInput
from campaign.live.changes import LiveChanges
from campaign.supporters.phones import PhoneVault, Sender

REQUIRED = ("appeal", "phone", "signed_at")
Row = tuple[int, list[str]]  # a line's number and its values
CHANNELS = {"sms", "web", "email", "paper", "whatsapp", "facebook", "import"}
BATCH = 2000
CHUNK = 500  # lines a worker process checks at a time
AHEAD = 4  # chunks in flight per worker: enough to keep them busy while a batch is written


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


def read_rows(handle: Iterable[str]) -> tuple[list[str], Iterator[Row]]:
    """The header (names in lower case) and the rows after it, each its line number and values.

    The values stay a list here: the process that checks a row makes it a dict (``named``),
    which costs more than reading it, and a large file's rows are checked in other processes.
    """
    reader = csv.DictReader(handle)
    header = [name.strip().lower() for name in header_of(reader)]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise BadRequest(f"line 1: the header lacks {', '.join(missing)} (needs {', '.join(REQUIRED)})")
    plain = reader.reader  # past the header; a blank line is skipped, as DictReader skips it

    def rows() -> Iterator[Row]:
        for values in plain:
            if values:
                yield plain.line_num, values

    return header, rows()


def named(header: list[str], values: list[str]) -> dict[str, str]:
    """A row's values by column name, stripped; a missing value is empty, extra values are dropped."""
    return {name: value.strip() for name, value in zip(header, values, strict=False) if name}


def import_signatures(
    recorder: Recorder,
    vault: PhoneVault,
    path: Path,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SignatureImportReport:
    """Import a file; ``workers``: processes that check its lines (default: one per core; a
    file of one chunk is checked here)."""
    report = SignatureImportReport()
    appeals = frozenset(recorder.directory().by_slug)
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

    def take(checked: list[tuple[int, SignatureInput | str]]) -> None:
        for line, result in checked:
            if isinstance(result, str):
                report.errors.append((line, result))
            else:
                batch.append(result)
                if len(batch) >= BATCH:
                    flush()
        if progress and checked:
            progress(checked[-1][0])

    with handle:
        lines = Lines(handle)
        header, rows = read_rows(lines)
        chunks = _chunks(rows, report)
        head = list(itertools.islice(chunks, 2))  # a file of one chunk is not worth the workers
        processes = workers or cores()
        if len(head) < 2 or processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for chunk in itertools.chain(head, chunks):
                take(_check(chunk, header, source, appeals, vault))
        else:
            with _pool(processes, header, source, appeals, vault) as pool:
                pending: deque[Future[list[tuple[int, Packed | str]]]] = deque()
                for chunk in itertools.chain(head, chunks):
                    pending.append(pool.submit(_check_here, chunk))
                    if len(pending) >= AHEAD * processes:
                        take(_unpacked(pending.popleft().result()))
                while pending:
                    take(_unpacked(pending.popleft().result()))
        flush()
        report.errors = sorted(report.errors + lines.bad)
    return report


def _chunks(rows: Iterator[Row], report: SignatureImportReport) -> Iterator[list[Row]]:
    """The file's rows in chunks of ``CHUNK``; where the file cannot be read on, the line is reported."""
    chunk: list[Row] = []
    try:
        for row in rows:
            report.lines += 1
            chunk.append(row)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    except UnicodeDecodeError:
        report.errors.append((report.lines + 2, "the file is not UTF-8; nothing after this line was read"))
    except csv.Error as error:
        report.errors.append((report.lines + 2, f"malformed CSV: {error}"))
    if chunk:
        yield chunk


def _check(
    chunk: list[Row], header: list[str], source: str, appeals: frozenset[str], vault: PhoneVault
) -> list[tuple[int, SignatureInput | str]]:
    """Each line of a chunk as a signature, or the reason it is not one."""
    checked: list[tuple[int, SignatureInput | str]] = []
    for line, values in chunk:
        try:
            checked.append((line, _signature(named(header, values), line, source, appeals, vault)))
        except (ValueError, BadRequest) as error:
            checked.append((line, str(error)))
    return checked


def cores() -> int:
    """The processes a large import checks its lines in by default: the cores it may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# What a worker process checks lines against, given when the pool starts.
_worker: tuple[list[str], str, frozenset[str], PhoneVault] | None = None


def _pool(
    workers: int, header: list[str], source: str, appeals: frozenset[str], vault: PhoneVault
) -> ProcessPoolExecutor:
    """Worker processes forked from this one: they inherit the vault, which is never pickled."""
    context = multiprocessing.get_context("fork")
    initargs = (header, source, appeals, vault)
    return ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=initargs)


def _start_worker(header: list[str], source: str, appeals: frozenset[str], vault: PhoneVault) -> None:
    global _worker
    _worker = (header, source, appeals, vault)


def _check_here(chunk: list[Row]) -> list[tuple[int, Packed | str]]:
    assert _worker is not None, "not a worker process of _pool"
    return [(line, r if isinstance(r, str) else _packed(r)) for line, r in _check(chunk, *_worker)]


# A signature as a plain tuple between processes: a frozen dataclass unpickles at a third the speed.
Packed = tuple[str, str, str, str, str, str, str, str, datetime]


def _packed(item: SignatureInput) -> Packed:
    sender = item.sender
    return (
        item.appeal_slug,
        sender.phone_hash,
        sender.phone_encrypted,
        sender.country,
        sender.masked,
        item.channel,
        item.provider,
        item.provider_message_id,
        item.received_at,
    )


def _unpacked(checked: list[tuple[int, Packed | str]]) -> list[tuple[int, SignatureInput | str]]:
    return [
        (line, r if isinstance(r, str) else SignatureInput(r[0], Sender(*r[1:5]), r[5], r[6], r[7], r[8]))
        for line, r in checked
    ]


# The provider's name lands in History's filters and in every export: a name, never a formula.
PROVIDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


def _signature(
    row: dict[str, str], line: int, source: str, appeals: frozenset[str], vault: PhoneVault
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
