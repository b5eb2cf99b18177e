"""Texts to the leads when a total passes a milestone (``CAMPAIGN_MILESTONE_NOTIFY``).

The numbers come from the settings; each is kept like a supporter's (keyed hash, encrypted,
never subscribed to alerts), so the outbox and the sender handle the text like any other.
The texts are queued in the transaction that claims the milestone (see
``campaign.appeals.milestones.claim``), so they are queued exactly once, and they go in the
``reply`` lane: a lead hears of a milestone before any waiting bulk alert goes out.  A lead
who texted STOP to the short code gets no notices, as for any other text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from campaign.appeals.milestones import OnClaim
from campaign.inbound.writes import upsert_supporters
from campaign.messaging.segments import segments
from campaign.storage.db import dialect_insert
from campaign.storage.models import OutboxMessage, lane_of
from campaign.supporters.phones import PhoneVault

log = logging.getLogger("campaign.milestones")

KIND = "milestone"


def text(scope: str, milestone: int, at: datetime) -> str:
    """The note, e.g. "Milestone: campaign torture passed 10,000 signatures (14:02 UTC)."."""
    kind, _, slug = scope.partition(":")
    named = "all appeals together" if scope == "all" else f"{kind} {slug}"
    return f"Milestone: {named} passed {milestone:,} signatures ({at:%H:%M} UTC)."


def notifier(vault: PhoneVault, numbers: Sequence[str]) -> OnClaim | None:
    """What a claim runs to queue the leads' texts; None when no lead is to be told."""
    leads = [vault.sender(number) for number in numbers]
    if not leads:
        return None

    def queue(connection: Connection, scope: str, milestone: int, at: datetime) -> None:
        found = upsert_supporters(connection, [(lead, at) for lead in leads])
        body = text(scope, milestone, at)
        rows = [
            {
                "kind": KIND,
                "lane": lane_of(KIND),
                "supporter_id": row["id"],
                "dedupe_key": f"{KIND}:{scope}:{milestone}:{row['id']}"[:96],
                "body": body,
                "segments": segments(body),
                "scheduled_at": at,
                "status": "queued",
                "attempts": 0,
                "created_at": at,
                "updated_at": at,
            }
            for row in found.values()
        ]
        connection.execute(dialect_insert(connection, OutboxMessage.__table__).on_conflict_do_nothing(), rows)
        log.info("milestone %s of %s: a text queued for %d leads", milestone, scope, len(rows))

    return queue
