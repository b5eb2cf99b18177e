"""What a commit changed in the live figures: the record the write path hands to the live view.

The recorder (the writer) builds these inside its transaction; the live view applies them to
Redis after the commit.  Both sides import this module, so the live view never imports the writer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Signed:
    """A new signature, as the live ticker shows it (masked number only)."""

    appeal_slug: str
    masked: str
    country: str
    channel: str
    received_at: datetime


@dataclass
class LiveChanges:
    """Tally values after a commit, keyed by appeal slug ("*" for the whole network)."""

    tallies: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    signed: list[Signed] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tallies or self.signed)


def epoch_minute(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp()) // 60


def tally_field(kind: str, key: str) -> str:
    return kind if kind in {"total", "members"} else f"{kind}:{key}"
