"""Outcomes: what happened to the person of an appeal, and what the appeals achieved.

Recording an outcome moves the appeal from open to "outcome" (it stays signable until it
is closed); the statistics answer "what worked?" for the Outcomes page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import Engine, insert, select, update

from campaign.errors import BadRequest, NotFound
from campaign.inbound.directory import bump_version
from campaign.storage.models import Appeal, Campaign, Outcome, utcnow

if TYPE_CHECKING:  # pandas is imported by the functions that need it: the CLI starts fast
    import pandas as pd

# kind -> (label, good by default)
KINDS: dict[str, tuple[str, bool]] = {
    "released": ("Released", True),
    "death-sentence-commuted": ("Death sentence commuted", True),
    "reappeared": ("Reappeared", True),
    "whereabouts-disclosed": ("Whereabouts disclosed", True),
    "medical-care-given": ("Medical care given", True),
    "charges-dropped": ("Charges dropped", True),
    "fair-trial-granted": ("Fair trial granted", True),
    "no-change": ("No change", False),
    "worsened": ("Worsened", False),
}


@dataclass(frozen=True)
class RecordedOutcome:
    appeal: str
    kind: str
    good: bool
    occurred_at: datetime


def record(
    engine: Engine,
    appeal: str,
    kind: str,
    *,
    occurred_at: datetime | date | None = None,
    zone: tzinfo = UTC,
    good: bool | None = None,
    source: str = "",
    note: str = "",
    now: datetime | None = None,
) -> RecordedOutcome:
    """Record an outcome at a moment, or on a day (a ``date``, read in ``zone``).

    A day becomes a moment inside it: noon, brought forward to now on the current day and back
    to the opening on the appeal's first day, so news from the day an appeal opened is accepted
    at any hour.
    """
    if kind not in KINDS:
        raise BadRequest(f"outcome {kind!r} is not one of {', '.join(KINDS)}")
    current = now or utcnow()
    if len(source) > 500:
        raise BadRequest("source: a URL or a short reference, at most 500 characters")
    verdict = KINDS[kind][1] if good is None else good
    with engine.begin() as connection:
        row = connection.execute(
            select(Appeal.id, Appeal.status, Appeal.opened_at).where(Appeal.slug == appeal)
        ).first()
        if row is None:
            raise NotFound(f"no appeal {appeal!r}")
        opened = row.opened_at if row.opened_at.tzinfo else row.opened_at.replace(tzinfo=UTC)
        moment = outcome_moment(occurred_at or current, opened=opened, zone=zone, now=current)
        connection.execute(
            insert(Outcome).values(
                appeal_id=row.id,
                kind=kind,
                good=verdict,
                occurred_at=moment,
                source=source[:500],
                note=note,
                recorded_at=current,
            )
        )
        if row.status == "open":
            connection.execute(update(Appeal).where(Appeal.id == row.id).values(status="outcome"))
            bump_version(connection)
    return RecordedOutcome(appeal, kind, verdict, moment)


def outcome_moment(when: datetime | date, *, opened: datetime, zone: tzinfo, now: datetime) -> datetime:
    """When an outcome happened, checked: never before the appeal opened, never in the future.

    A day without a time (``date``) counts as noon of that day in ``zone``, kept between the
    opening and now, so only a day before the opening day or after today is refused.
    """
    if isinstance(when, datetime):
        moment = when if when.tzinfo else when.replace(tzinfo=UTC)
        if moment > now:
            raise BadRequest("the outcome's date is in the future")
        if moment < opened:
            raise BadRequest("the outcome's date is before the appeal was opened")
        return moment
    if when > now.astimezone(zone).date():
        raise BadRequest("the outcome's date is in the future")
    if when < opened.astimezone(zone).date():
        raise BadRequest("the outcome's date is before the appeal was opened")
    noon = datetime.combine(when, time(12), tzinfo=zone).astimezone(UTC)
    return min(max(noon, opened), now)


def frame(engine: Engine, campaign: str | None = None) -> pd.DataFrame:
    """One row per appeal with its latest outcome (if any): the basis of every statistic."""
    import pandas as pd

    with engine.connect() as connection:
        appeals = pd.DataFrame(
            connection.execute(
                select(
                    Appeal.id,
                    Appeal.slug,
                    Appeal.title,
                    Appeal.country,
                    Appeal.status,
                    Appeal.opened_at,
                    Campaign.slug.label("campaign"),
                ).join(Campaign, Campaign.id == Appeal.campaign_id)
            ).all(),
            columns=["id", "slug", "title", "country", "status", "opened_at", "campaign"],
        )
        outcomes = pd.DataFrame(
            connection.execute(
                select(
                    Outcome.appeal_id, Outcome.kind, Outcome.good, Outcome.occurred_at, Outcome.id
                ).order_by(Outcome.id)
            ).all(),
            columns=["appeal_id", "kind", "good", "occurred_at", "outcome_id"],
        )
    if campaign:
        appeals = appeals[appeals["campaign"] == campaign]
    latest = outcomes.drop_duplicates("appeal_id", keep="last")
    merged = appeals.merge(latest, how="left", left_on="id", right_on="appeal_id")
    merged["opened_at"] = pd.to_datetime(merged["opened_at"], utc=True)
    merged["occurred_at"] = pd.to_datetime(merged["occurred_at"], utc=True)
    merged["days_to_outcome"] = (merged["occurred_at"] - merged["opened_at"]).dt.total_seconds() / 86400
    merged["label"] = merged["kind"].map(lambda k: KINDS[k][0] if isinstance(k, str) else None)
    return merged.drop(columns=["appeal_id"]).reset_index(drop=True)


def good_share(table: pd.DataFrame, by: str | None = None) -> pd.DataFrame | float | None:
    """Share of appeals with an outcome whose outcome is good, overall or per column ``by``."""
    decided = table[table["kind"].notna()]
    if by is None:
        return float(decided["good"].astype(bool).mean()) if len(decided) else None
    grouped = decided.groupby(by)["good"].agg(appeals="count", good="sum")
    grouped["share"] = grouped["good"] / grouped["appeals"]
    return grouped.reset_index()


def waiting_longest(table: pd.DataFrame, now: datetime | None = None, limit: int = 10) -> pd.DataFrame:
    """Open appeals without an outcome, longest waiting first."""
    import pandas as pd

    moment = pd.Timestamp(now or utcnow())
    waiting = table[table["kind"].isna() & (table["status"] != "closed")].copy()
    waiting["days_waiting"] = (moment - waiting["opened_at"]).dt.total_seconds() / 86400
    return waiting.sort_values("days_waiting", ascending=False).head(limit)[
        ["slug", "title", "campaign", "country", "opened_at", "days_waiting"]
    ]
