"""Rebuild every figure from the raw records: first the database tallies, then Redis."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from campaign.live import minute_tallies
from campaign.live.rebuild import recount, recount_campaigns
from campaign.live.view import LiveView
from campaign.storage import shards
from campaign.storage.db import dialect_insert
from campaign.storage.models import NETWORK, Appeal, Campaign, CampaignTally, Tally
from campaign.supporters.phones import PhoneVault


def reconcile(engine: Engine, live: LiveView, vault: PhoneVault) -> list[str]:
    """Make tallies equal the signatures, and Redis equal the tallies; report what was fixed."""
    differences = fix_tallies(engine)
    differences += fix_campaign_tallies(engine)
    differences += live.refresh(engine, vault, force=True)
    return differences


def fix_tallies(engine: Engine) -> list[str]:
    # One window for both sides: minutes before it have no tallies to compare (minute_tallies).
    first_minute = minute_tallies.first_minute()
    truth = recount(engine, first_minute)
    differences: list[str] = []
    with engine.begin() as connection:
        slug_of = dict(connection.execute(select(Appeal.id, Appeal.slug)).all())
        stored = {
            (a, k, key): n
            for a, k, key, n in connection.execute(shards.summed(Tally.__table__)).all()
            if k != "minute" or int(key) >= first_minute
        }
        for name in sorted(set(truth) | set(stored)):
            want, have = truth.get(name, 0), stored.get(name, 0)
            if want == have:
                continue
            appeal_id, kind, key = name
            scope = "network" if appeal_id == NETWORK else slug_of.get(appeal_id, str(appeal_id))
            label = f"{kind}:{key}" if key else kind
            differences.append(f"{scope}: database tally {label} was {have}, counted {want}")
            connection.execute(
                delete(Tally).where(Tally.appeal_id == appeal_id, Tally.kind == kind, Tally.key == key)
            )
            if want:
                connection.execute(
                    dialect_insert(connection, Tally.__table__).values(
                        appeal_id=appeal_id, kind=kind, key=key, count=want
                    )
                )
    return differences


def fix_campaign_tallies(engine: Engine) -> list[str]:
    truth = recount_campaigns(engine)
    differences: list[str] = []
    with engine.begin() as connection:
        slug_of = dict(connection.execute(select(Campaign.id, Campaign.slug)).all())
        stored = {
            (c, k, key): n for c, k, key, n in connection.execute(shards.summed(CampaignTally.__table__))
        }
        for name in sorted(set(truth) | set(stored)):
            want, have = truth.get(name, 0), stored.get(name, 0)
            if want == have:
                continue
            campaign_id, kind, key = name
            differences.append(
                f"campaign {slug_of.get(campaign_id, campaign_id)}: {kind}:{key} was {have}, counted {want}"
            )
            connection.execute(
                delete(CampaignTally).where(
                    CampaignTally.campaign_id == campaign_id,
                    CampaignTally.kind == kind,
                    CampaignTally.key == key,
                )
            )
            if want:
                connection.execute(
                    dialect_insert(connection, CampaignTally.__table__).values(
                        campaign_id=campaign_id, kind=kind, key=key, count=want
                    )
                )
    return differences
