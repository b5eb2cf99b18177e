"""Alerts: an appeal's text to every subscribed supporter (or those of some countries).

``plan`` says what would be sent and to how many; ``queue`` puts it in the outbox with one
``INSERT ... SELECT`` (a million recipients in seconds, no row passes through Python).
Each supporter gets an appeal's alert once: sending again reaches only those who
subscribed since.  When a text has gone out, it is that supporter's latest alert, so a
bare "JA" signs this appeal (see ``campaign.messaging.sender``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pycountry
from sqlalchemy import ColumnElement, Connection, Engine, String, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from campaign.audit import record as audit
from campaign.errors import BadRequest, NotFound
from campaign.inbound.replies import SMS_LIMIT
from campaign.messaging import outbox
from campaign.storage.models import Appeal, OutboxMessage, Supporter


@dataclass(frozen=True)
class AlertPlan:
    appeal: str
    appeal_id: int
    title: str
    body: str
    countries: tuple[str, ...]
    recipients: int  # subscribed, not opted out, not yet sent this appeal's alert
    already: int  # of the same selection, already given this appeal's alert


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


def check_body(body: str) -> str:
    text = " ".join(body.split())
    if not text:
        raise BadRequest("the alert text is empty; give the appeal an SMS text or pass one")
    if len(text) > SMS_LIMIT:
        raise BadRequest(f"the alert text has {len(text)} characters; one SMS holds {SMS_LIMIT}")
    return text


def plan(
    engine: Engine, appeal: str, country_codes: Sequence[str] = (), text: str | None = None
) -> AlertPlan:
    chosen = countries(country_codes)
    with engine.connect() as connection:
        row = connection.execute(
            select(Appeal.id, Appeal.title, Appeal.sms_text, Appeal.status).where(Appeal.slug == appeal)
        ).first()
        if row is None:
            raise NotFound(f"no appeal {appeal!r}")
        if row.status == "closed":
            raise BadRequest(f"appeal {appeal!r} is closed; its alert can no longer be signed")
        body = check_body(text if text is not None else row.sms_text)
        audience = _audience(chosen)
        already_sent = OutboxMessage.dedupe_key == literal(alert_key(row.id)) + cast(Supporter.id, String)
        total = connection.scalar(select(func.count()).select_from(Supporter).where(audience)) or 0
        already = (
            connection.scalar(
                select(func.count()).select_from(Supporter).join(OutboxMessage, already_sent).where(audience)
            )
            or 0
        )
    return AlertPlan(appeal, row.id, row.title, body, chosen, total - already, already)


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
            {"batch": batch, "recipients": queued, "countries": list(alert.countries), "text": alert.body},
        )
    return QueuedAlert(batch, queued)


def queue_in(connection: Connection, alert: AlertPlan, batch: str) -> int:
    recipients = select(Supporter.id).where(_audience(alert.countries))
    return outbox.queue_batch(
        connection,
        recipients,
        kind="alert",
        appeal_id=alert.appeal_id,
        batch=batch,
        dedupe_prefix=alert_key(alert.appeal_id),
        body=alert.body,
    )
