"""Demo traffic goes through the real signed webhooks and never provokes an error."""

from __future__ import annotations

import asyncio

import pytest

from campaign.demo.simulate import Mix, NumberBook, Simulator, TrafficShape
from campaign.live.rebuild import recount
from campaign.runtime import Runtime
from tests.conftest import PUBLIC_URL, TWILIO_TOKEN, Server


def test_the_tv_spike_decays_over_the_hour() -> None:
    shape = TrafficShape(background=2, peak=40, half_life=600, every=3600)
    assert shape.rate(0) == 42
    assert shape.rate(600) == pytest.approx(22)
    assert shape.rate(3599) < 3
    assert shape.rate(3600) == 42  # the next TV moment


def test_numbers_are_valid_and_mostly_dutch() -> None:
    import random

    import phonenumbers

    book = NumberBook(random.Random(1))
    numbers = [phonenumbers.parse(book.new()) for _ in range(500)]
    assert all(phonenumbers.is_valid_number(n) for n in numbers)
    dutch = sum(phonenumbers.region_code_for_number(n) == "NL" for n in numbers)
    assert 350 < dutch < 470


@pytest.mark.usefixtures("hassan", "kenya")
def test_demo_traffic_is_counted_and_refused_exactly_where_it_should(
    ingest_server: Server, runtime: Runtime
) -> None:
    mix = Mix(repeat=0.1, retry=0.1, stop=0.02, unknown=0.05, bad_signature=0.05)
    simulator = Simulator(
        ingest_server.url, PUBLIC_URL, TWILIO_TOKEN, keywords=["KENYA"], mix=mix, seed=3,
        shape=TrafficShape(background=400, peak=0),
    )  # fmt: skip
    report = asyncio.run(simulator.run(count=300))
    assert report.sent == 300 and report.failed == 0
    assert set(report.statuses) <= {200, 403}
    assert report.statuses[403] == report.kinds["bad signature"]
    truth = recount(runtime.engine)
    directory = runtime.recorder.directory()
    for slug in ("hassan", "kenya"):
        figures = runtime.live.figures(slug)
        assert figures is not None
        assert figures.signatures == truth.get((directory.by_slug[slug].id, "total", ""), 0)
    assert sum(runtime.live.figures(s).signatures for s in ("hassan", "kenya")) > 100  # type: ignore[union-attr]
