"""The sender's pace: starts spaced 1/rate apart; a 429 pauses and halves it; calm brings it back."""

from __future__ import annotations

import asyncio

import pytest

from campaign.messaging import sender
from campaign.messaging.sender import RateLimiter, backoff


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sleeps the limiter asks for (the fake clock moves by them)."""
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(round(seconds, 6))

    monkeypatch.setattr(sender.asyncio, "sleep", sleep)
    return asked


def test_starts_are_spaced_by_the_rate(waits: list[float]) -> None:
    limiter = RateLimiter(10, clock=Clock())

    async def five() -> None:
        for _ in range(5):
            await limiter.acquire()

    asyncio.run(five())
    assert waits == [0.1, 0.2, 0.3, 0.4]  # the first goes at once


def test_a_throttle_pauses_and_halves_the_pace_until_calm(waits: list[float]) -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    limiter.throttled(2.0)
    assert limiter.pace == 5
    asyncio.run(limiter.acquire())
    assert waits == [2.0]  # Retry-After is honoured
    clock.now += 10  # ten calm seconds
    assert limiter.pace == 10


def test_no_limit_until_a_provider_throttles(waits: list[float]) -> None:
    limiter = RateLimiter(0, clock=Clock())

    async def many() -> None:
        for _ in range(100):
            await limiter.acquire()

    asyncio.run(many())
    assert waits == []
    limiter.throttled(None)
    asyncio.run(limiter.acquire())
    assert waits == [1.0]


def test_backoff_doubles_within_jitter_and_is_capped() -> None:
    for attempts, low, high in ((1, 1.6, 2.4), (2, 3.2, 4.8), (4, 12.8, 19.2), (20, 480, 720)):
        assert low <= backoff(attempts, 2.0) <= high
    assert backoff(1, 2.0, asked=30) == 30
