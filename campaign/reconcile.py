"""Rebuild every figure from the raw records: first the database tallies, then Redis."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from campaign.db import dialect_insert
from campaign.live import LiveView, recount
from campaign.models import NETWORK, Appeal, Tally
from campaign.phones import PhoneVault


def reconcile(engine: Engine, live: LiveView, vault: PhoneVault) -> list[str]:
    """Make tallies equal the signatures, and Redis equal the tallies; report what was fixed."""
    differences = fix_tallies(engine)
    differences += live.refresh(engine, vault, force=True)
    return differences


def fix_tallies(engine: Engine) -> list[str]:
    truth = recount(engine)
    differences: list[str] = []
    with engine.begin() as connection:
        slug_of = dict(connection.execute(select(Appeal.id, Appeal.slug)).all())
        stored = {
            (a, k, key): n
            for a, k, key, n in connection.execute(
                select(Tally.appeal_id, Tally.kind, Tally.key, Tally.count)
            ).all()
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
