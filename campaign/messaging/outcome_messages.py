"""Outcome messages: telling everyone who signed an appeal what came of it.

After an outcome is recorded, a lead previews the text (``plan``) and confirms
(``queue``): one text per signer who has not opted out, queued once per outcome, so a
second confirmation queues nothing.  The text is the lead's, or made from the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, String, cast, func, literal, select
from sqlalchemy.orm import Session

from campaign.appeals.outcomes import KINDS
from campaign.audit import record as audit
from campaign.errors import BadRequest, NotFound
from campaign.inbound.replies import fit
from campaign.messaging import outbox
from campaign.messaging.alerts import check_body
from campaign.storage.models import Appeal, OutboxMessage, Outcome, Signature, Supporter

GOOD = {
    "en": "Good news: {what} for {person}. Thank you for standing with them! Reply STOP to opt out.",
    "nl": "Goed nieuws: {what} voor {person}. Dank je voor je steun! Antwoord STOP om af te melden.",
}
NOT_GOOD = {
    "en": "News about {person}: {what}. Thank you for your support; we keep going. Reply STOP to opt out.",
    "nl": "Nieuws over {person}: {what}. Dank je voor je steun; we gaan door. Antwoord STOP om af te melden.",
}


@dataclass(frozen=True)
class OutcomePlan:
    appeal: str
    appeal_id: int
    outcome_id: int
    outcome: str  # the outcome's label, e.g. Released
    good: bool
    body: str
    recipients: int  # signers not opted out who have not had this outcome's message
    already: int  # signers already given it


@dataclass(frozen=True)
class QueuedOutcome:
    batch: str
    queued: int


def outcome_key(outcome_id: int) -> str:
    return f"outcome:{outcome_id}:"


def default_text(person: str, kind: str, good: bool, language: str) -> str:
    label = KINDS[kind][0] if kind in KINDS else kind
    table = GOOD if good else NOT_GOOD
    template = table.get(language) or table["en"]
    return fit(template.format(what=label.lower(), person=person))


def plan(engine: Engine, appeal: str, text: str | None = None) -> OutcomePlan:
    """The message about the appeal's latest outcome, and how many signers it would reach."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Appeal.id, Appeal.person, Appeal.title, Appeal.language).where(Appeal.slug == appeal)
        ).first()
        if row is None:
            raise NotFound(f"no appeal {appeal!r}")
        outcome = connection.execute(
            select(Outcome.id, Outcome.kind, Outcome.good)
            .where(Outcome.appeal_id == row.id)
            .order_by(Outcome.id.desc())
            .limit(1)
        ).first()
        if outcome is None:
            raise BadRequest(f"appeal {appeal!r} has no outcome yet; record one first")
        body = check_body(
            text
            if text is not None
            else default_text(row.person or row.title, outcome.kind, outcome.good, row.language)
        )
        signers = (
            select(func.count())
            .select_from(Signature)
            .join(Supporter, Supporter.id == Signature.supporter_id)
        )
        audience = (Signature.appeal_id == row.id, Supporter.opted_out.is_(False))
        total = connection.scalar(signers.where(*audience)) or 0
        already = (
            connection.scalar(
                signers.join(
                    OutboxMessage,
                    OutboxMessage.dedupe_key == literal(outcome_key(outcome.id)) + cast(Supporter.id, String),
                ).where(*audience)
            )
            or 0
        )
    label = KINDS[outcome.kind][0] if outcome.kind in KINDS else outcome.kind
    return OutcomePlan(appeal, row.id, outcome.id, label, bool(outcome.good), body, total - already, already)


def queue(engine: Engine, message: OutcomePlan, actor: str) -> QueuedOutcome:
    """Queue the message to every signer not opted out, once per outcome; audited."""
    batch = uuid.uuid4().hex
    recipients = (
        select(Supporter.id)
        .select_from(Signature)
        .join(Supporter, Supporter.id == Signature.supporter_id)
        .where(
            Signature.appeal_id == message.appeal_id,
            Supporter.opted_out.is_(False),
            Supporter.phone_encrypted.is_not(None),
        )
    )
    with engine.begin() as connection:
        queued = outbox.queue_batch(
            connection,
            recipients,
            kind="outcome",
            appeal_id=message.appeal_id,
            batch=batch,
            dedupe_prefix=outcome_key(message.outcome_id),
            body=message.body,
        )
        audit(
            Session(bind=connection),
            actor,
            "outcome.message",
            message.appeal,
            {"batch": batch, "outcome": message.outcome, "recipients": queued, "text": message.body},
        )
    return QueuedOutcome(batch, queued)
