"""Demo traffic: a Saturday-night TV call to action, driven through the real signed webhooks.

The model follows the SMS case: a presenter asks 2.5 million viewers to text JA to 4777;
texts arrive in a sharp spike that decays over the following hour, on top of a steady
background.  The mix is what a Dutch show brings: mostly Dutch numbers, then Belgian,
German, British, Surinamese, Turkish and Moroccan ones.  Some people text twice, the
provider retries now and then, a few reply STOP or something nobody understands, and
the odd request carries a bad signature (the service must refuse it with a 403).

``--speed`` compresses time, so the hour after a TV moment can be watched in a minute.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import phonenumbers
from twilio.request_validator import RequestValidator

# Share of senders by country for a Dutch Saturday-night show.
COUNTRY_MIX = {
    "NL": 0.82, "BE": 0.07, "DE": 0.03, "GB": 0.02, "SR": 0.015, "TR": 0.015,
    "MA": 0.01, "FR": 0.01, "ES": 0.005, "KE": 0.005,
}  # fmt: skip
UNKNOWN_TEXTS = ["wat is dit?", "Hoi!", "👍", "bel me", "Is dit gratis?", "ok", "nee"]


@dataclass(frozen=True)
class TrafficShape:
    """Messages per second at time t (seconds of simulated time)."""

    background: float = 2.0  # texts per second outside TV moments
    peak: float = 40.0  # extra texts per second just after the presenter's call
    half_life: float = 600.0  # the spike halves every ten minutes: mostly gone in an hour
    every: float = 3600.0  # a new TV moment every hour of simulated time

    def rate(self, t: float) -> float:
        since = t % self.every
        return self.background + self.peak * math.pow(0.5, since / self.half_life)


@dataclass
class Mix:
    repeat: float = 0.05  # a supporter texts JA again
    retry: float = 0.02  # the provider sends the same message again
    stop: float = 0.005
    unknown: float = 0.02
    bad_signature: float = 0.003
    keyword: float = 0.15  # names an appeal by keyword instead of a bare JA


@dataclass
class Report:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    failed: int = 0

    def line(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.kinds.most_common())
        return f"{self.sent} sent ({kinds}); answers {statuses}; {self.failed} without answer"


class NumberBook:
    """Plausible mobile numbers per country, made from phonenumbers' own examples."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.examples = {}
        for region in COUNTRY_MIX:
            example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
            if example is not None:
                self.examples[region] = example
        self.regions = list(self.examples)
        self.weights = [COUNTRY_MIX[r] for r in self.regions]

    def new(self) -> str:
        region = self.rng.choices(self.regions, self.weights)[0]
        example = self.examples[region]
        national = str(example.national_number)
        for _ in range(20):
            tail = "".join(str(self.rng.randrange(10)) for _ in range(5))
            candidate = phonenumbers.PhoneNumber(
                country_code=example.country_code, national_number=int(national[:-5] + tail)
            )
            if phonenumbers.is_valid_number(candidate):
                return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


class Simulator:
    def __init__(
        self,
        ingest_url: str,
        public_url: str,
        twilio_token: str,
        *,
        short_code: str = "4777",
        keywords: list[str] | None = None,
        shape: TrafficShape | None = None,
        mix: Mix | None = None,
        speed: float = 1.0,
        seed: int | None = None,
    ):
        self.ingest_url = ingest_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(twilio_token)
        self.short_code = short_code
        self.keywords = keywords or []
        self.shape = shape or TrafficShape()
        self.mix = mix or Mix()
        self.speed = speed
        self.rng = random.Random(seed)
        self.numbers = NumberBook(self.rng)
        self.signers: list[str] = []
        self.recent: list[dict[str, str]] = []
        self.report = Report()

    def next_form(self) -> tuple[str, dict[str, str]]:
        """The next text to send, and what kind of text it is."""
        roll = self.rng.random()
        mix = self.mix
        if roll < mix.retry and self.recent:
            return "retry", dict(self.rng.choice(self.recent))
        roll -= mix.retry
        if roll < mix.repeat and self.signers:
            sender, body, kind = self.rng.choice(self.signers), "ja", "repeat"
        elif roll < mix.repeat + mix.stop and self.signers:
            sender, body, kind = self.rng.choice(self.signers), "STOP", "stop"
        elif roll < mix.repeat + mix.stop + mix.unknown:
            sender, body, kind = self.numbers.new(), self.rng.choice(UNKNOWN_TEXTS), "unknown"
        else:
            sender, kind = self.numbers.new(), "sign"
            body = self.rng.choice(["JA", "Ja", "ja", "JA!", "ja 🙏", "Yes"])
            if self.keywords and self.rng.random() < mix.keyword:
                body = f"JA {self.rng.choice(self.keywords)}"
            self.signers.append(sender)
        form = {
            "MessageSid": "SM" + uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": self.short_code,
            "Body": body,
            "FromCountry": phonenumbers.region_code_for_number(phonenumbers.parse(sender)) or "",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        self.recent = ([*self.recent, form])[-200:]
        return kind, form

    def sign(self, kind: str, form: dict[str, str]) -> tuple[str, str]:
        signature = self.validator.compute_signature(self.public_url + "/webhooks/twilio", form)
        if self.rng.random() < self.mix.bad_signature:
            return "bad signature", signature[::-1]
        return kind, signature

    async def send(self, http: httpx.AsyncClient, form: dict[str, str], signature: str) -> None:
        try:
            response = await http.post(
                "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}
            )
            self.report.statuses[response.status_code] += 1
        except httpx.HTTPError:
            self.report.failed += 1

    async def run(
        self,
        *,
        count: int | None = None,
        duration: float | None = None,
        rate_scale: float = 1.0,
        on_tick: Callable[[Report], None] | None = None,
    ) -> Report:
        """Send until ``count`` texts or ``duration`` seconds (wall clock), whichever comes first."""
        started = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=self.ingest_url, timeout=30, limits=limits) as http:
            tick = 0.25
            carry = 0.0
            while True:
                elapsed = time.monotonic() - started
                if (duration is not None and elapsed >= duration) or (
                    count is not None and self.report.sent >= count
                ):
                    break
                expected = self.shape.rate(elapsed * self.speed) * rate_scale * tick + carry
                due = int(expected)
                carry = expected - due
                if count is not None:
                    due = min(due, count - self.report.sent)
                for _ in range(due):
                    kind, form = self.next_form()
                    kind, signature = self.sign(kind, form)
                    self.report.sent += 1
                    self.report.kinds[kind] += 1
                    task = asyncio.create_task(self.send(http, form, signature))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                if on_tick:
                    on_tick(self.report)
                await asyncio.sleep(tick)
            if pending:
                await asyncio.gather(*pending)
        return self.report
