"""Alerts: an appeal's text to every subscribed supporter (or those of some countries).

``plan`` says what would be sent, in which languages, to how many and at how many SMS
segments (``campaign.messaging.bulk``); ``queue`` puts it in the outbox with one
``INSERT ... SELECT`` (a million recipients in seconds, no row passes through Python).
Each supporter gets an appeal's alert once: sending again reaches only those who
subscribed since.  When a text has gone out, it is that supporter's latest alert, so a
bare "JA" signs this appeal (see ``campaign.messaging.sender``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pycountry
from sqlalchemy import ColumnElement, Connection, Engine, String, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from campaign.audit import record as audit
from campaign.errors import BadRequest, NotFound
from campaign.messaging import bulk
from campaign.messaging.bulk import BulkText
from campaign.storage.models import Appeal, OutboxMessage, Supporter


@dataclass(frozen=True)
class AlertPlan:
    appeal: str
    appeal_id: int
    title: str
    text: BulkText  # the appeal's own text, the translations, recipients and segments of each
    countries: tuple[str, ...]
    recipients: int  # subscribed, not opted out, not yet sent this appeal's alert
    already: int  # of the same selection, already given this appeal's alert

    @property
    def body(self) -> str:
        return self.text.body


@dataclass(frozen=True)
class QueuedAlert:
    batch: str
    queued: int


def countries(codes: Sequence[str]) -> tuple[str, ...]:
    """Country codes or names as ISO alpha-2, each checked."""
    found = []
    for code in codes:
        for part in (p.strip() for p in code.split(",")):
            if not part:
                continue
            try:
                found.append(str(pycountry.countries.lookup(part).alpha_2))
            except LookupError:
                raise BadRequest(f"unknown country {part!r}") from None
    return tuple(sorted(set(found)))


def alert_key(appeal_id: int) -> str:
    return f"alert:{appeal_id}:"


def check_body(body: str, max_segments: int = 1) -> str:
    return bulk.check_body(body, max_segments, "the alert text", "; give the appeal an SMS text or pass one")


def plan(
    engine: Engine,
    appeal: str,
    country_codes: Sequence[str] = (),
    text: str | None = None,
    translations: Mapping[str, str] | None = None,
    max_segments: int = 1,
) -> AlertPlan:
    """What would be sent, in which languages, to how many, at how many segments; all checked."""
    chosen = countries(country_codes)
    versions = bulk.check_translations(translations, max_segments)
    with engine.connect() as connection:
        row = connection.execute(
            select(Appeal.id, Appeal.title, Appeal.sms_text, Appeal.status, Appeal.language).where(
                Appeal.slug == appeal
            )
        ).first()
        if row is None:
            raise NotFound(f"no appeal {appeal!r}")
        if row.status == "closed":
            raise BadRequest(f"appeal {appeal!r} is closed; its alert can no longer be signed")
        body = check_body(text if text is not None else row.sms_text, max_segments)
        audience = _audience(chosen)
        already_sent = OutboxMessage.dedupe_key == literal(alert_key(row.id)) + cast(Supporter.id, String)
        by_language = select(Supporter.language, func.count()).group_by(Supporter.language)
        everyone = dict(connection.execute(by_language.select_from(Supporter).where(audience)).all())
        given = dict(
            connection.execute(
                by_language.select_from(Supporter).join(OutboxMessage, already_sent).where(audience)
            ).all()
        )
    waiting = {code: n - given.get(code, 0) for code, n in everyone.items() if n - given.get(code, 0)}
    planned = bulk.plan(body, row.language, versions, waiting)
    return AlertPlan(appeal, row.id, row.title, planned, chosen, planned.recipients, sum(given.values()))


def _audience(chosen: tuple[str, ...]) -> ColumnElement[bool]:
    """Who an alert goes to: subscribed, not opted out, a number kept, of these countries."""
    condition = and_(
        Supporter.subscribed.is_(True), Supporter.opted_out.is_(False), Supporter.phone_encrypted.is_not(None)
    )
    return and_(condition, Supporter.country.in_(chosen)) if chosen else condition


def queue(engine: Engine, alert: AlertPlan, actor: str) -> QueuedAlert:
    """Queue the alert to everyone in the plan's selection not given it yet; audited."""
    batch = uuid.uuid4().hex
    with engine.begin() as connection:
        queued = queue_in(connection, alert, batch)
        audit(
            Session(bind=connection),
            actor,
            "alert.send",
            alert.appeal,
            {
                "batch": batch,
                "recipients": queued,
                "countries": list(alert.countries),
                **bulk.audit_detail(alert.text),
            },
        )
    return QueuedAlert(batch, queued)


def queue_in(connection: Connection, alert: AlertPlan, batch: str) -> int:
    recipients = select(Supporter.id, Supporter.language).where(_audience(alert.countries))
    return bulk.queue(
        connection,
        recipients,
        alert.text,
        kind="alert",
        appeal_id=alert.appeal_id,
        batch=batch,
        dedupe_prefix=alert_key(alert.appeal_id),
    )
