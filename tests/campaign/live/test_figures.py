"""The live figures as read from Redis: the latest signers only on request, and to the minute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaign.live.changes import LiveChanges, Signed
from campaign.runtime import Runtime

pytestmark = pytest.mark.usefixtures("hassan")

AT = datetime(2026, 12, 3, 21, 4, 37, 512000, tzinfo=UTC)


def test_the_latest_signers_are_read_to_the_minute_and_left_out_of_the_public_json(runtime: Runtime) -> None:
    changes = LiveChanges()
    changes.tallies["hassan"] = {"total": 1, "channel:sms": 1, "country:NL": 1}
    changes.signed.append(Signed("hassan", "+31 6 ••• ••• 78", "NL", "sms", AT))
    runtime.live.apply(changes, now=AT.timestamp())
    figures = runtime.live.figures("hassan", now=AT.timestamp())
    assert figures is not None
    assert figures.recent == [
        {"number": "+31 6 ••• ••• 78", "country": "NL", "channel": "sms", "at": "2026-12-03T21:04+00:00"}
    ]
    public = figures.as_json()
    assert "recent" not in public and public["signatures"] == 1
    assert figures.as_json(signers=True)["recent"] == figures.recent
