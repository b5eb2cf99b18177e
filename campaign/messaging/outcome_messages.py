"""Outcome messages: telling everyone who signed an appeal what came of it.

After an outcome is recorded, a lead previews the text (``plan``) and confirms
(``queue``): one text per signer who has not opted out, queued once per outcome, so a
second confirmation queues nothing.  The text is the lead's, or made from the outcome; each
signer gets it in their language when there is a version in it (``campaign.messaging.bulk``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, String, cast, func, literal, select
from sqlalchemy.orm import Session

from campaign.appeals.outcomes import KINDS
from campaign.audit import record as audit
from campaign.errors import BadRequest, NotFound
from campaign.messaging import bulk
from campaign.messaging.bulk import BulkText
from campaign.messaging.segments import fit
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
    text: BulkText  # the message, its translations, recipients and segments of each
    recipients: int  # signers not opted out who have not had this outcome's message
    already: int  # signers already given it

    @property
    def body(self) -> str:
        return self.text.body


@dataclass(frozen=True)
class QueuedOutcome:
    batch: str
    queued: int


def outcome_key(outcome_id: int) -> str:
    return f"outcome:{outcome_id}:"


def default_text(person: str, kind: str, good: bool, language: str, max_segments: int = 1) -> str:
    label = KINDS[kind][0] if kind in KINDS else kind
    table = GOOD if good else NOT_GOOD
    template = table.get(language) or table["en"]
    return fit(template.format(what=label.lower(), person=person), max_segments)


def plan(
    engine: Engine,
    appeal: str,
    text: str | None = None,
    translations: Mapping[str, str] | None = None,
    max_segments: int = 1,
) -> OutcomePlan:
    """The message about the appeal's latest outcome, in which languages, to how many signers.

    Without a text of the lead's, the message is made from the outcome in the appeal's
    language, and in each other language the signers have that a made text exists for
    (unless the lead gave that translation).
    """
    versions = bulk.check_translations(translations, max_segments)
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
        person = row.person or row.title

        def made(language: str) -> str:
            return default_text(person, outcome.kind, outcome.good, language, max_segments)

        body = check_body(text if text is not None else made(row.language), max_segments)
        signers = (
            select(Supporter.language, func.count())
            .select_from(Signature)
            .join(Supporter, Supporter.id == Signature.supporter_id)
            .group_by(Supporter.language)
        )
        audience = (Signature.appeal_id == row.id, Supporter.opted_out.is_(False))
        everyone = dict(connection.execute(signers.where(*audience)).all())
        given = dict(
            connection.execute(
                signers.join(
                    OutboxMessage,
                    OutboxMessage.dedupe_key == literal(outcome_key(outcome.id)) + cast(Supporter.id, String),
                ).where(*audience)
            ).all()
        )
    waiting = {code: n - given.get(code, 0) for code, n in everyone.items() if n - given.get(code, 0)}
    if text is None:
        table = GOOD if outcome.good else NOT_GOOD
        for code in sorted(c for c in waiting if c in table and c != row.language and c not in versions):
            versions[code] = check_body(made(code), max_segments)
        versions = dict(sorted(versions.items()))
    planned = bulk.plan(body, row.language, versions, waiting)
    label = KINDS[outcome.kind][0] if outcome.kind in KINDS else outcome.kind
    return OutcomePlan(
        appeal,
        row.id,
        outcome.id,
        label,
        bool(outcome.good),
        planned,
        planned.recipients,
        sum(given.values()),
    )


def queue(engine: Engine, message: OutcomePlan, actor: str) -> QueuedOutcome:
    """Queue the message to every signer not opted out, once per outcome; audited."""
    batch = uuid.uuid4().hex
    recipients = (
        select(Supporter.id, Supporter.language)
        .select_from(Signature)
        .join(Supporter, Supporter.id == Signature.supporter_id)
        .where(
            Signature.appeal_id == message.appeal_id,
            Supporter.opted_out.is_(False),
            Supporter.phone_encrypted.is_not(None),
        )
    )
    with engine.begin() as connection:
        queued = bulk.queue(
            connection,
            recipients,
            message.text,
            kind="outcome",
            appeal_id=message.appeal_id,
            batch=batch,
            dedupe_prefix=outcome_key(message.outcome_id),
        )
        audit(
            Session(bind=connection),
            actor,
            "outcome.message",
            message.appeal,
            {
                "batch": batch,
                "outcome": message.outcome,
                "recipients": queued,
                **bulk.audit_detail(message.text),
            },
        )
    return QueuedOutcome(batch, queued)


def check_body(body: str, max_segments: int = 1) -> str:
    return bulk.check_body(body, max_segments, "the outcome message")
