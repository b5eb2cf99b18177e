"""What no implementation can skip, timed on this machine in the same run: the floor under ours.

A signed webhook must at least be parsed, have its signature checked, its number read and checked,
hashed and encrypted, and be answered with TwiML; an imported line must at least be read,
have its time parsed and its number read, checked, hashed and encrypted.  Here those steps are
the libraries' own calls alone (urllib, the twilio helper, phonenumbers, hmac, cryptography),
on the bench's own requests and lines, with none of ours around them and no database, Redis
or HTTP.  So:

* a webhook cannot cost less server CPU than the minimal endpoint plus ``per_request``;
* an import cannot go faster than its lines can be checked on every core while the same
  cores insert them at the raw bulk speed (``import_ceiling``), even before the supporters
  table, the tallies and the rollups that the raw baseline does not write.

Each figure is the best of a few repeats (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import phonenumbers
from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

REPEATS = 3
SAMPLE = 2000  # requests or lines timed per repeat
E164 = phonenumbers.PhoneNumberFormat.E164


@dataclass
class Floor:
    """Microseconds per request (or line) of each step, and their sum."""

    steps: dict[str, float]
    sample: int

    @property
    def per_item_us(self) -> float:
        return sum(self.steps.values())

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"per_item_us": round(self.per_item_us, 2)}


def webhook_floor(pool_path: Path, token: str, url: str, answer: str) -> Floor:
    """The library steps of a signed Twilio webhook, on the first requests of the bench's pool."""
    requests = _pool_requests(pool_path, SAMPLE)
    validator = RequestValidator(token)
    forms = [dict(parse_qsl(body, keep_blank_values=True)) for _, body in requests]
    numbers = [phonenumbers.parse(form["From"]) for form in forms]
    signed = list(zip((s for s, _ in requests), forms, strict=True))
    e164s = [phonenumbers.format_number(n, E164) for n in numbers]
    hasher, fernet = _keys()

    def signature_ok() -> None:
        for signature, form in signed:
            if not hmac.compare_digest(validator.compute_signature(url, form), signature):
                raise AssertionError("a bench request does not carry its own signature")

    def twiml() -> None:
        for _ in requests:
            reply = MessagingResponse()
            reply.message(answer)
            str(reply)

    def parse_forms() -> None:
        for _, body in requests:
            dict(parse_qsl(body, keep_blank_values=True))

    steps = {
        "form parse (urllib)": _best(parse_forms),
        "signature (twilio helper)": _best(signature_ok),
        **_number_steps([form["From"] for form in forms], numbers, e164s, hasher, fernet),
        "TwiML answer (twilio helper)": _best(twiml),
    }
    return Floor({name: seconds * 1e6 / len(requests) for name, seconds in steps.items()}, len(requests))


def import_floor(csv_path: Path) -> Floor:
    """The library steps of an imported line, on the first lines of the bench's file."""
    with open(csv_path, encoding="utf-8", newline="") as handle:
        text = list(itertools.islice(handle, 1, SAMPLE + 1))  # past the header
    rows = list(csv.reader(text))
    phones = [phone for _, phone, _ in rows]
    times = [signed_at for _, _, signed_at in rows]
    numbers = [phonenumbers.parse(phone) for phone in phones]
    e164s = [phonenumbers.format_number(n, E164) for n in numbers]
    hasher, fernet = _keys()

    def parse_times() -> None:
        for value in times:
            datetime.fromisoformat(value).astimezone(UTC)

    steps = {
        "CSV read (csv.reader)": _best(lambda: list(csv.reader(text))),
        "time parse (datetime)": _best(parse_times),
        **_number_steps(phones, numbers, e164s, hasher, fernet),
    }
    return Floor({name: seconds * 1e6 / len(rows) for name, seconds in steps.items()}, len(rows))


def import_ceiling(floor: Floor, raw_rows_per_second: float, cores: int) -> float:
    """Rows per second an import could reach with nothing but the floor: every core checks lines,
    and the same cores insert each line once at the raw bulk speed (which one writer bounds)."""
    raw_us = 1e6 / raw_rows_per_second
    return 1e6 / max(raw_us, (floor.per_item_us + raw_us) / cores)


def _number_steps(
    raw: Sequence[str],
    numbers: Sequence[phonenumbers.PhoneNumber],
    e164s: Sequence[str],
    hasher: Any,
    fernet: Fernet,
) -> dict[str, float]:
    def hashed() -> None:
        for number in e164s:
            copy = hasher.copy()
            copy.update(number.encode())
            copy.hexdigest()

    possible = phonenumbers.is_possible_number
    return {
        "number parse (phonenumbers)": _best(lambda: [phonenumbers.parse(n) for n in raw]),
        # The project's own check: a possible number (a valid-number check refuses new ranges).
        "number possible (phonenumbers)": _best(lambda: [possible(n) for n in numbers]),
        "E.164 (phonenumbers)": _best(lambda: [phonenumbers.format_number(n, E164) for n in numbers]),
        "hash (HMAC-SHA256)": _best(hashed),
        "encrypt (Fernet)": _best(lambda: [fernet.encrypt(n.encode()) for n in e164s]),
    }


def _keys() -> tuple[Any, Fernet]:
    return hmac.new(b"bench-floor" * 3, digestmod=hashlib.sha256), Fernet(Fernet.generate_key())


def _pool_requests(path: Path, size: int) -> list[tuple[str, str]]:
    """(signature, form body) of the pool's first ``size`` requests."""
    with open(path, encoding="utf-8") as handle:
        lines = itertools.islice(handle, size)
        return [tuple(line.rstrip("\n").split("\t", 1)) for line in lines]  # type: ignore[misc]


def _best(step: Callable[[], object]) -> float:
    """Seconds of the quickest of ``REPEATS`` runs of ``step``."""
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - began)
    return best
