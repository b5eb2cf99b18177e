"""The outbox: every text to a supporter, queued in the database before anything is sent.

Queuing is idempotent through ``dedupe_key``: an appeal's alert reaches a supporter once,
an outcome message once per outcome, and a thank-you still waiting absorbs further "JA"s
of the same person for the same appeal (several JAs within the delay: one thank-you).
Rows name the supporter, never the number; ``campaign.messaging.sender`` decrypts it when sending.

Statuses: queued -> sending -> sent -> delivered, or failed (with the reason), or
cancelled (the supporter opted out before it went), or unknown (a sender claimed it and
stopped before it wrote what came of it: it may or may not have gone out; a lead may resend it).

Lanes: every text is in the ``reply`` lane (an answer to the supporter's own text: a
thank-you, HELP, a confirmation, a welcome, any other answer) or the ``bulk`` lane (alerts,
outcome messages); the sender takes every due reply before any bulk text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    String,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from campaign.audit import record as audit
from campaign.messaging.segments import segments
from campaign.storage.db import dialect_insert, insert_for
from campaign.storage.models import OutboxMessage, Supporter, lane_of, utcnow

# reply: any other answer to a text (JOIN, START, an unknown word) where the provider
# cannot answer in the webhook's response
# milestone: a note to a lead (CAMPAIGN_MILESTONE_NOTIFY) that a total passed a milestone
KINDS = ("alert", "thank_you", "outcome", "help", "opt_out_confirmation", "reply", "milestone")
STATUSES = ("queued", "sending", "sent", "delivered", "failed", "cancelled", "unknown")
FINAL = frozenset({"delivered", "failed", "cancelled"})
LANES = ("reply", "bulk")  # in the order the sender serves them
# Kinds that go even to a supporter who opted out: the confirmation that they did.
DESPITE_OPT_OUT = frozenset({"opt_out_confirmation"})


@dataclass(frozen=True, slots=True)
class ThankYou:
    """A thank-you to queue for one JA: rendered again with the count when it is sent."""

    supporter_id: int
    appeal_id: int
    template: str  # "thank_you" (a new signature) or "already_signed"
    language: str | None
    preview: str  # the text with the count at queuing time


def thank_you_key(appeal_id: int, supporter_id: int) -> str:
    return f"thanks:{appeal_id}:{supporter_id}"


def queue_thank_yous(
    connection: Connection, thanks: Sequence[ThankYou], delay: float, now: datetime | None = None
) -> None:
    """Queue thank-yous due ``delay`` seconds from now, at most one waiting per person and appeal."""
    if not thanks:
        return
    moment = now or utcnow()
    due = moment + timedelta(seconds=delay)
    rows: dict[str, dict[str, Any]] = {}
    lengths: dict[str, int] = {}  # a batch's thank-yous share a few texts: measure each once
    for item in thanks:
        if item.preview not in lengths:
            lengths[item.preview] = segments(item.preview)
        key = thank_you_key(item.appeal_id, item.supporter_id)
        if key in rows and rows[key]["template"] == "thank_you":
            continue  # a new signature's thank-you wins over "you already signed"
        rows[key] = {
            "kind": "thank_you",
            "lane": lane_of("thank_you"),
            "supporter_id": item.supporter_id,
            "appeal_id": item.appeal_id,
            "dedupe_key": key,
            "template": item.template,
            "language": item.language,
            "body": item.preview,
            "segments": lengths[item.preview],
            "scheduled_at": due,
            "status": "queued",
            "attempts": 0,
            "created_at": moment,
            "updated_at": moment,
        }
    connection.execute(_thanks_insert(connection.dialect.name), [rows[key] for key in sorted(rows)])


@functools.cache
def _thanks_insert(dialect: str) -> Any:
    """Built once per dialect: each batch of JAs queues its thank-yous with it."""
    return insert_for(dialect, OutboxMessage.__table__).on_conflict_do_nothing()


def queue_batch(
    connection: Connection,
    recipients: Select[int, str | None],
    *,
    kind: str,
    appeal_id: int,
    batch: str,
    dedupe_prefix: str,
    body: str,
    language: str | None = None,
    segments: int | None = None,
    translations: Mapping[str, tuple[str, int]] | None = None,
) -> int:
    """Queue ``body`` to every supporter id ``recipients`` selects, in one INSERT ... SELECT.

    With ``translations`` (language -> (text, segments)), ``recipients`` selects the
    supporter's ``id`` and ``language`` and a ``CASE`` gives each supporter the text in their
    language when there is one, else ``body`` (in ``language``, costing ``segments``).
    A supporter whose ``dedupe_prefix + id`` is queued already (an alert or outcome message
    sent before) is skipped.  Returns how many texts the batch holds.
    """
    now = utcnow()
    ids = recipients.subquery()
    chosen_body: ColumnElement[Any] = literal(body)
    chosen_language: ColumnElement[Any] = literal(language, String)
    chosen_segments: ColumnElement[Any] = literal(segments, Integer)
    if translations:
        chosen_body = case(
            *((ids.c.language == code, literal(text)) for code, (text, _) in translations.items()),
            else_=chosen_body,
        )
        chosen_language = case(
            *((ids.c.language == code, literal(code)) for code in translations), else_=chosen_language
        )
        chosen_segments = case(
            *((ids.c.language == code, literal(n)) for code, (_, n) in translations.items()),
            else_=chosen_segments,
        )
    columns = [
        "kind",
        "lane",
        "supporter_id",
        "appeal_id",
        "batch",
        "dedupe_key",
        "body",
        "language",
        "segments",
        "scheduled_at",
        "status",
        "attempts",
        "created_at",
        "updated_at",
    ]
    rows = select(
        literal(kind),
        literal(lane_of(kind)),
        ids.c.id,
        literal(appeal_id),
        literal(batch),
        literal(dedupe_prefix) + cast(ids.c.id, String),
        chosen_body,
        chosen_language,
        chosen_segments,
        literal(now, OutboxMessage.scheduled_at.type),
        literal("queued"),
        literal(0),
        literal(now, OutboxMessage.created_at.type),
        literal(now, OutboxMessage.updated_at.type),
    ).where(true())  # SQLite reads "FROM x ON CONFLICT" as a join without a WHERE in between
    connection.execute(
        dialect_insert(connection, OutboxMessage.__table__)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return batch_size(connection, batch)


def batch_size(connection: Connection, batch: str) -> int:
    """Texts queued in a batch (rowcount of INSERT ... SELECT is not reliable on every driver)."""
    return int(connection.scalar(select(func.count()).where(OutboxMessage.batch == batch)) or 0)


def queue_replies(
    connection: Connection, replies: Iterable[tuple[int, str, str]], now: datetime | None = None
) -> None:
    """Queue plain replies (kind, e.g. help) to send at once: (supporter id, kind, text)."""
    moment = now or utcnow()
    rows = [
        {
            "kind": kind,
            "lane": lane_of(kind),
            "supporter_id": supporter_id,
            "body": text,
            "segments": segments(text),
            "scheduled_at": moment,
            "status": "queued",
            "attempts": 0,
            "created_at": moment,
            "updated_at": moment,
        }
        for supporter_id, kind, text in replies
    ]
    if rows:
        connection.execute(insert(OutboxMessage), rows)


def forget_supporter(connection: Connection, supporter_id: int) -> int:
    """Erasure: delete every text to or from the outbox of this supporter, whatever its status.

    Call it in the erasure's transaction before the supporter row goes (the outbox refers to
    it).  A text being sent at that moment may still go out; its result then finds no row.
    """
    return int(
        connection.execute(delete(OutboxMessage).where(OutboxMessage.supporter_id == supporter_id)).rowcount
        or 0
    )


# -- delivery receipts -------------------------------------------------------------------------

# A receipt never moves a text backwards: "sent" after "delivered" changes nothing.
_RANK = {"queued": 0, "sending": 1, "unknown": 1, "sent": 2, "delivered": 3, "failed": 3}


def record_receipt(
    engine: Engine,
    provider: str,
    provider_message_id: str,
    status: str,
    error: str | None = None,
    opted_out: bool = False,
) -> bool:
    """Apply a provider's delivery report; returns whether the text was ours."""
    now = utcnow()
    with engine.begin() as connection:
        row = connection.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.supporter_id).where(
                OutboxMessage.provider == provider,
                OutboxMessage.provider_message_id == provider_message_id,
            )
        ).first()
        if row is None:
            return False
        if opted_out:
            mark_opted_out(connection, row.supporter_id, now)
        if _RANK.get(status, 0) <= _RANK.get(row.status, 0) and not (
            status == "failed" and row.status == "sent"
        ):
            return True
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "delivered":
            values["delivered_at"] = now
        if error:
            values["error"] = error[:300]
        connection.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
    return True


def mark_opted_out(connection: Connection, supporter_id: int, now: datetime) -> None:
    """The provider says this number refuses our texts (e.g. Twilio 21610): treat it as STOP."""
    connection.execute(
        update(Supporter)
        .where(Supporter.id == supporter_id, Supporter.opted_out.is_(False))
        .values(opted_out=True, opted_out_at=now, subscribed=False)
    )


# -- figures for the Messages page, the CLI and /metrics ---------------------------------------


@dataclass(frozen=True)
class Backlog:
    """Texts of a lane due and still queued, and how long the oldest of them has waited past its time."""

    lane: str
    due: int
    lag_seconds: float


def backlog(engine: Engine, now: datetime | None = None) -> dict[str, Backlog]:
    """Each lane's backlog, by lane (``reply``, ``bulk``)."""
    moment = now or utcnow()
    found = {}
    with engine.connect() as connection:
        for lane in LANES:
            query = select(func.count(), func.min(OutboxMessage.scheduled_at)).where(
                OutboxMessage.status == "queued",
                OutboxMessage.lane == lane,
                OutboxMessage.scheduled_at <= moment,
            )  # ix_outbox_lane_due answers it
            due, oldest = connection.execute(query).one()
            lag = (moment - oldest).total_seconds() if oldest is not None else 0.0
            found[lane] = Backlog(lane, int(due), lag)
    return found


# -- texts in doubt ----------------------------------------------------------------------------

IN_DOUBT = "in doubt: its sender stopped before saying whether it went; not resent by itself"


def in_doubt(engine: Engine) -> int:
    """Texts marked unknown: a stopped sender held them; a lead decides whether to resend."""
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).where(OutboxMessage.status == "unknown")) or 0)


def resend(engine: Engine, ids: Iterable[int], actor: str) -> int:
    """Queue these texts in doubt again, now; audited.  Returns how many were queued.

    Only texts still ``unknown`` move, in one UPDATE, so a second click (or two leads at once)
    queues nothing more: each text is resent at most once per doubt.
    """
    chosen = sorted({int(i) for i in ids})
    if not chosen:
        return 0
    now = utcnow()
    table = OutboxMessage.__table__.c
    with engine.begin() as connection:
        resent = list(
            connection.scalars(
                update(OutboxMessage)
                .where(table.id.in_(chosen), table.status == "unknown")
                .values(
                    status="queued",
                    scheduled_at=now,
                    claimed_by=None,
                    claimed_at=None,
                    error=f"resent by a lead after: {IN_DOUBT}"[:300],
                    updated_at=now,
                )
                .returning(table.id)
            )
        )
        if resent:
            audit(Session(bind=connection), actor, "outbox.resend", f"{len(resent)} texts", {"texts": resent})
    return len(resent)


def counts(engine: Engine, batch: str | None = None) -> dict[tuple[str, str], int]:
    """Texts by (kind, status), of one alert or outcome batch or of all."""
    query = select(OutboxMessage.kind, OutboxMessage.status, func.count()).group_by(
        OutboxMessage.kind, OutboxMessage.status
    )
    if batch is not None:
        query = query.where(OutboxMessage.batch == batch)
    with engine.connect() as connection:
        return {(kind, status): n for kind, status, n in connection.execute(query)}


def batch_progress(engine: Engine, batch: str) -> dict[str, int]:
    """One batch's texts by status."""
    progress = dict.fromkeys(STATUSES, 0)
    for (_, status), n in counts(engine, batch).items():
        progress[status] = progress.get(status, 0) + n
    return progress
