"""What the Messages page shows of the outbox: by status and kind (texts and SMS segments), each
lane's backlog, send rate, failures, texts in doubt, opt-outs.

Read with parameterised SQLAlchemy Core into DataFrames; a failure names its supporter by
masked number only (decrypted in memory to be masked, never kept).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select

from campaign.messaging import outbox
from campaign.storage.models import Appeal, OutboxMessage, Supporter, utcnow
from campaign.supporters.phones import PhoneVault, mask, normalise

if TYPE_CHECKING:
    import pandas as pd


def by_status(engine: Engine) -> pd.DataFrame:
    """Texts and their SMS segments per kind and status: columns kind, status, texts, segments."""
    import pandas as pd

    query = select(
        OutboxMessage.kind,
        OutboxMessage.status,
        func.count(),
        func.coalesce(func.sum(OutboxMessage.segments), 0),
    ).group_by(OutboxMessage.kind, OutboxMessage.status)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame(rows, columns=["kind", "status", "texts", "segments"])
    return frame.astype({"texts": int, "segments": int})


def lanes(engine: Engine, now: datetime | None = None) -> pd.DataFrame:
    """Each lane's due texts and how late the oldest is: columns lane, due, lag_seconds."""
    import pandas as pd

    found = outbox.backlog(engine, now)
    return pd.DataFrame(
        [(lane, found[lane].due, found[lane].lag_seconds) for lane in outbox.LANES],
        columns=["lane", "due", "lag_seconds"],
    )


def in_doubt(engine: Engine, vault: PhoneVault, limit: int = 500) -> pd.DataFrame:
    """Texts marked unknown, oldest claim first: columns id, since, kind, appeal, to (masked), text."""
    import pandas as pd

    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.claimed_at,
            OutboxMessage.kind,
            Appeal.slug,
            Supporter.phone_encrypted,
            OutboxMessage.body,
        )
        .join(Supporter, Supporter.id == OutboxMessage.supporter_id)
        .outerjoin(Appeal, Appeal.id == OutboxMessage.appeal_id)
        .where(OutboxMessage.status == "unknown")
        .order_by(OutboxMessage.claimed_at, OutboxMessage.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(
        [
            (message_id, since, kind, slug or "", _masked(vault, phone), body)
            for message_id, since, kind, slug, phone, body in rows
        ],
        columns=["id", "since", "kind", "appeal", "to", "text"],
    )


def sent_per_minute(engine: Engine, minutes: int = 60, now: datetime | None = None) -> pd.DataFrame:
    """Texts sent per minute over the last ``minutes``: columns minute (UTC), sent."""
    import pandas as pd

    end = now or utcnow()
    start = end - timedelta(minutes=minutes)
    with engine.connect() as connection:
        moments = connection.scalars(
            select(OutboxMessage.sent_at).where(OutboxMessage.sent_at >= start, OutboxMessage.sent_at <= end)
        ).all()
    index = pd.date_range(pd.Timestamp(start).floor("min"), pd.Timestamp(end).floor("min"), freq="min")
    series = pd.Series(1, index=pd.DatetimeIndex(moments)).resample("min").sum() if moments else None
    sent = (series.reindex(index, fill_value=0) if series is not None else pd.Series(0, index=index)).astype(
        int
    )
    return pd.DataFrame({"minute": index, "sent": sent.to_numpy()})


def failures(engine: Engine, vault: PhoneVault, limit: int = 100) -> pd.DataFrame:
    """The latest failed texts: columns at, kind, appeal, to (masked), attempts, reason."""
    import pandas as pd

    query = (
        select(
            OutboxMessage.updated_at,
            OutboxMessage.kind,
            Appeal.slug,
            Supporter.phone_encrypted,
            OutboxMessage.attempts,
            OutboxMessage.error,
        )
        .join(Supporter, Supporter.id == OutboxMessage.supporter_id)
        .outerjoin(Appeal, Appeal.id == OutboxMessage.appeal_id)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(
        [
            (at, kind, slug or "", _masked(vault, phone), attempts, error or "")
            for at, kind, slug, phone, attempts, error in rows
        ],
        columns=["at", "kind", "appeal", "to", "attempts", "reason"],
    )


def failure_reasons(engine: Engine) -> pd.DataFrame:
    """Failed texts per reason, most frequent first: columns reason, texts."""
    import pandas as pd

    query = (
        select(OutboxMessage.error, func.count().label("texts"))
        .where(OutboxMessage.status == "failed")
        .group_by(OutboxMessage.error)
        .order_by(func.count().desc())
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame([(error or "unknown", n) for error, n in rows], columns=["reason", "texts"])


def opt_outs_per_day(engine: Engine, days: int = 30, now: datetime | None = None) -> pd.DataFrame:
    """Supporters who opted out (and still are) per day: columns day (UTC date), opt_outs."""
    import pandas as pd

    end = now or utcnow()
    start = end - timedelta(days=days - 1)
    with engine.connect() as connection:
        moments = connection.scalars(
            select(Supporter.opted_out_at).where(
                Supporter.opted_out.is_(True),
                Supporter.opted_out_at >= start.replace(hour=0, minute=0, second=0),
            )
        ).all()
    index = pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")
    counts = (
        pd.Series(1, index=pd.DatetimeIndex(moments)).resample("D").sum() if moments else pd.Series(dtype=int)
    )
    series = counts.reindex(index, fill_value=0).astype(int)
    return pd.DataFrame({"day": index, "opt_outs": series.to_numpy()})


def _masked(vault: PhoneVault, encrypted: str | None) -> str:
    if encrypted is None:
        return "erased"
    try:
        return mask(normalise(vault.decrypt(encrypted)))
    except ValueError:
        return "unreadable"
