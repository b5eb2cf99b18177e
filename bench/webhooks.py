"""Pre-generated, correctly signed Twilio webhooks that look like a real campaign night.

Signing costs tens of microseconds in Python, more than the load generator may spend
per request, so every request is built before the clock starts and written to a pool
file (one ``signature<TAB>body`` line per request) that both load generators replay.
Each request is distinct (its own MessageSid); most come from new supporters, some from
supporters who signed already and text again, as happens after every radio call.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from campaign.storage import shards
from campaign.storage.models import Appeal, Signature, Supporter, Tally

if TYPE_CHECKING:
    from bench.stack import Stack

PATH = "/webhooks/twilio"
CONTENT_TYPE = "application/x-www-form-urlencoded"
ACCOUNT_SID = "AC" + "0" * 32
# What supporters type: mostly a bare yes-word, sometimes with the appeal's keyword.
TEXTS = ("JA",) * 14 + ("Ja", "ja!", "JA HASSAN", "Hassan", "ja 👍")


@dataclass(frozen=True)
class Pool:
    """The requests of one load run, in the order each slice replays them."""

    path: Path
    senders: list[str]  # the From number of each request, by index

    def __len__(self) -> int:
        return len(self.senders)

    def sent(self, per_slice: list[int]) -> list[int]:
        """Indexes of the requests issued when slice ``i`` (indexes i, i+n, ...) sent ``per_slice[i]``."""
        slices = len(per_slice)
        indexes: list[int] = []
        for first, count in enumerate(per_slice):
            own = range(first, len(self), slices)
            indexes.extend(own[: min(count, len(own))])
        return indexes

    def distinct_senders(self, indexes: Iterable[int]) -> int:
        return len({self.senders[i] for i in indexes})


def build_pool(
    path: Path,
    size: int,
    *,
    token: str,
    public_url: str,
    number_prefix: str,
    short_code: str,
    repeat_share: float = 0.1,
    seed: int = 4777,
) -> Pool:
    """Write ``size`` signed requests to ``path``; new numbers are ``number_prefix`` + 7 digits."""
    validator = RequestValidator(token)
    url = public_url + PATH
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:16]  # MessageSids differ between pools and runs
    senders: list[str] = []
    new = 0
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(size):
            if senders and rng.random() < repeat_share:
                sender = rng.choice(senders)
            else:
                sender = f"{number_prefix}{new:07d}"
                new += 1
            sid = f"SM{run}{index:016x}"
            form = twilio_form(sid, sender, rng.choice(TEXTS), short_code)
            signature = validator.compute_signature(url, form)
            handle.write(f"{signature}\t{urlencode(form)}\n")
            senders.append(sender)
    return Pool(path, senders)


def twilio_form(sid: str, sender: str, body: str, to: str) -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS (see ingest/providers/twilio.py)."""
    return {
        "ToCountry": "NL",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "NL",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


@dataclass(frozen=True)
class Counts:
    """What the database holds for one appeal."""

    signatures: int
    tally_total: int
    supporters: int


def counts(engine: Engine, slug: str) -> Counts:
    with engine.connect() as connection:
        appeal_id = connection.scalar(select(Appeal.id).where(Appeal.slug == slug))
        signatures = connection.scalar(
            select(func.count()).select_from(Signature).where(Signature.appeal_id == appeal_id)
        )
        total = shards.figures(connection, Tally.__table__, [(appeal_id, "total", "")]).get(
            (appeal_id, "total", "")
        )
        supporters = connection.scalar(select(func.count()).select_from(Supporter))
    return Counts(int(signatures or 0), int(total or 0), int(supporters or 0))


def settled(stack: Stack, slug: str, timeout: float) -> Counts:
    """The counts once the last in-flight batches committed (two equal readings in a row)."""
    deadline = time.monotonic() + timeout
    last = counts(stack.runtime.engine, slug)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = counts(stack.runtime.engine, slug)
        if now == last:
            return now
        last = now
    return last


def live_total(stack: Stack, slug: str, expected: int, timeout: float) -> int:
    """Redis's total once the live writer caught up with the database (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    total = -1
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            figures = stack.runtime.live.figures(slug)
            total = figures.signatures if figures else 0
        if total == expected:
            break
        time.sleep(0.2)
    return total
