"""Delivering an appeal's petition to its target authority by email, and by fax through a gateway.

One message per recipient (the authority's address, then its email-to-fax gateway
address), each with the PDF and the CSV attached and a short, polite cover text, sent over
SMTP (``CAMPAIGN_SMTP_*``, ``CAMPAIGN_MAIL_FROM``).  Every delivery is a row in
``deliveries``, written as ``sending`` before the first byte goes out and finished with
the message ids, the PDF's SHA-256, the count and the period delivered; an SMTP failure
ends as ``failed`` with its reason in one sentence, and as a ``DeliveryFailed`` error
for the caller.  Each delivery is in the audit log.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from campaign import audit
from campaign.appeals.petition import Petition, make
from campaign.errors import BadRequest, CampaignError, ConfigurationError
from campaign.settings import Settings
from campaign.storage.models import Appeal, Delivery, utcnow

SMTP_TIMEOUT = 30.0
# A delivery still "sending" after this long was cut off (a crash); it no longer blocks another.
UNDER_WAY = timedelta(minutes=10)
IMPLICIT_TLS_PORT = 465


class DeliveryFailed(CampaignError):
    """No recipient got the petition; the failed delivery is recorded."""

    status = 502
    code = "delivery_failed"

    def __init__(self, message: str, record: DeliveryRecord):
        super().__init__(message)
        self.record = record


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    starttls: bool
    sender: str
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        if not settings.smtp_host:
            raise ConfigurationError("CAMPAIGN_SMTP_HOST is not set: petitions are delivered through it")
        if not settings.mail_from:
            raise ConfigurationError("CAMPAIGN_MAIL_FROM is not set: the authority needs to see who writes")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            sender=settings.mail_from,
        )

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    appeal: str
    created_at: datetime
    actor: str
    recipients: tuple[str, ...]
    message_ids: tuple[str, ...]
    signatures: int
    period_start: datetime | None
    period_end: datetime | None
    document_sha256: str
    csv_sha256: str
    status: str
    error: str
    finished_at: datetime | None

    @property
    def delivered_to(self) -> tuple[str, ...]:
        return tuple(r for r, m in zip(self.recipients, self.message_ids, strict=False) if m)


# -- the messages ----------------------------------------------------------------------------------


def cover_text(petition: Petition, previous: DeliveryRecord | None = None) -> str:
    f = petition.figures
    concerning = f" concerning {f.person}" if f.person else ""
    lines = [
        f"Dear {f.target.name or 'Sir or Madam'},",
        "",
        f"Please find attached a petition{concerning}: \u201c{f.title}\u201d.",
        f"It was signed by {f.total:,} people from {len(f.countries)} "
        f"{'country' if len(f.countries) == 1 else 'countries'}, {f.period_phrase()}.",
    ]
    if previous is not None and previous.signatures < f.total:
        lines.append(
            f"That is {f.total - previous.signatures:,} more than we delivered to you on "
            f"{previous.created_at.astimezone(f.tz):%d %B %Y}."
        )
    lines += [
        "",
        "The PDF sets out the appeal and the signatures by country and by day; the CSV file "
        "holds the same figures. To protect the signers, no names or phone numbers are included.",
        "",
        "We respectfully urge you to act on this appeal.",
        "",
        "Yours faithfully,",
        "",
        f.campaign,
    ]
    return "\n".join(lines) + "\n"


def messages(petition: Petition, sender: str, previous: DeliveryRecord | None = None) -> list[EmailMessage]:
    """One message per recipient of the appeal's target, each with both documents."""
    f = petition.figures
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    body = cover_text(petition, previous)
    built = []
    for recipient in f.target.addresses:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = recipient
        message["Subject"] = f"Petition: {f.title} ({f.total:,} signatures)"
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid("petition", domain=domain)
        message.set_content(body)
        pdf, csv = petition.pdf, petition.csv
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=petition.pdf_name)
        message.add_attachment(csv, maintype="text", subtype="csv", filename=petition.csv_name)
        built.append(message)
    return built


def write_dry_run(petition: Petition, built: Sequence[EmailMessage], folder: Path) -> list[Path]:
    """The documents and the messages as they would be sent (``.eml``), written to ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / petition.pdf_name, folder / petition.csv_name]
        written[0].write_bytes(petition.pdf)
        written[1].write_bytes(petition.csv)
        for number, message in enumerate(built, start=1):
            path = folder / f"{petition.figures.base_name()}-message-{number}.eml"
            path.write_bytes(message.as_bytes())
            written.append(path)
    except OSError as error:
        raise BadRequest(f"{folder}: {error.strerror}") from None
    return written


# -- delivering ------------------------------------------------------------------------------------


def prepare(engine: Engine, slug: str, timezone: str) -> Petition:
    """The petition as it would be delivered now; refused if there is nobody or nothing to send."""
    petition = make(engine, slug, timezone)
    check_deliverable(petition)
    return petition


def check_deliverable(petition: Petition) -> None:
    f = petition.figures
    if not f.target.addresses:
        raise BadRequest(
            f"appeal {f.slug!r} has no target address; set one with "
            f"`campaign appeal edit {f.slug} --target-email … --target-fax …`"
        )
    if f.total == 0:
        raise BadRequest(f"appeal {f.slug!r} has no signatures to deliver yet")


def deliver(
    engine: Engine,
    slug: str,
    config: SmtpConfig,
    *,
    timezone: str = "UTC",
    actor: str = "",
    petition: Petition | None = None,
) -> DeliveryRecord:
    """Send the petition to every address of the appeal's target and record the delivery.

    Returns the record when at least one recipient took it (status ``sent`` or
    ``partial``); raises ``DeliveryFailed`` (after recording it) when none did.
    """
    petition = petition or make(engine, slug, timezone)
    check_deliverable(petition)
    f = petition.figures
    actor = actor or audit.cli_actor()
    previous = last_delivered(engine, slug)
    built = messages(petition, config.sender, previous)
    recipients = [str(m["To"]) for m in built]
    with engine.begin() as connection:
        appeal_id = connection.execute(select(Appeal.id).where(Appeal.slug == slug)).scalar_one()
        under_way = connection.execute(
            select(Delivery.created_at).where(
                Delivery.appeal_id == appeal_id,
                Delivery.status == "sending",
                Delivery.created_at > utcnow() - UNDER_WAY,
            )
        ).scalar()
        if under_way is not None:  # two leads clicking at once: one delivery, not two
            raise BadRequest(
                f"a delivery of {slug!r} is being sent since {under_way.astimezone(f.tz):%H:%M:%S}; "
                "see `campaign deliver --list`"
            )
        delivery_id = connection.execute(
            insert(Delivery)
            .values(
                appeal_id=appeal_id,
                created_at=utcnow(),
                actor=actor[:120],
                recipients=recipients,
                message_ids=[],
                signatures=f.total,
                period_start=f.first,
                period_end=f.last,
                document_sha256=petition.pdf_sha256,
                csv_sha256=petition.csv_sha256,
                status="sending",
                error="",
            )
            .returning(Delivery.id)
        ).scalar_one()
    try:
        results = send(config, built)
    except Exception as bug:  # not the server's doing: the record must not stay "sending"
        _finish(
            engine, delivery_id, [("", f"internal error ({type(bug).__name__})")] * len(built), recipients
        )
        raise
    status, error = _finish(engine, delivery_id, results, recipients)
    audit.record(
        engine,
        actor,
        "delivery",
        slug,
        {
            "delivery": delivery_id,
            "status": status,
            "recipients": recipients,
            "signatures": f.total,
            "document_sha256": petition.pdf_sha256,
            **({"error": error} if error else {}),
        },
    )
    record = get(engine, delivery_id)
    if status == "failed":
        raise DeliveryFailed(f"delivery of {slug!r} failed: {_common(results)}", record)
    return record


def _finish(
    engine: Engine, delivery_id: int, results: list[tuple[str, str]], recipients: list[str]
) -> tuple[str, str]:
    """Record how the sending went: the status and the error, per recipient."""
    ids = [message_id for message_id, _ in results]
    problems = [f"{to}: {error}" for to, (_, error) in zip(recipients, results, strict=True) if error]
    status = "failed" if not any(ids) else "partial" if problems else "sent"
    error = "; ".join(problems)
    with engine.begin() as connection:
        connection.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(message_ids=ids, status=status, error=error, finished_at=utcnow())
        )
    return status, error


def send(config: SmtpConfig, built: Sequence[EmailMessage]) -> list[tuple[str, str]]:
    """Send each message on one SMTP session: (message id, "") or ("", reason) per message."""
    try:
        smtp = _connect(config)
    except _Refused as problem:
        return [("", problem.reason)] * len(built)
    results: list[tuple[str, str]] = []
    try:
        for message in built:
            try:
                smtp.send_message(message)
                results.append((str(message["Message-ID"]), ""))
            except smtplib.SMTPServerDisconnected as error:
                reason = f"the SMTP server closed the connection ({error or 'no reason given'})"
                results += [("", reason)] * (len(built) - len(results))
                break
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                results.append(("", f"refused by the SMTP server: {_reply(code, text)}"))
            except smtplib.SMTPResponseException as error:
                reply = _reply(error.smtp_code, error.smtp_error)
                results.append(("", f"refused by the SMTP server: {reply}"))
            except (smtplib.SMTPException, OSError) as error:
                results.append(("", f"sending failed: {error}"))
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return results


class _Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    where = f"{config.host}:{config.port}"
    context = ssl.create_default_context()
    try:
        if config.port == IMPLICIT_TLS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    except (socket.gaierror, socket.herror) as error:
        raise _Refused(f"cannot find the SMTP server {config.host!r} ({error.strerror})") from None
    except (OSError, smtplib.SMTPException) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise _Refused(f"cannot reach the SMTP server {where} ({reason})") from None
    try:
        if config.starttls and config.port != IMPLICIT_TLS_PORT:
            smtp.starttls(context=context)
        if config.user:
            smtp.login(config.user, config.password)
    except smtplib.SMTPNotSupportedError:
        smtp.close()
        raise _Refused(
            f"the SMTP server {where} offers no STARTTLS (set CAMPAIGN_SMTP_STARTTLS=false "
            "only for a server on a trusted network)"
        ) from None
    except smtplib.SMTPAuthenticationError as error:
        smtp.close()
        raise _Refused(
            f"the SMTP server {where} refused the login of {config.user!r}: "
            f"{_reply(error.smtp_code, error.smtp_error)}"
        ) from None
    except smtplib.SMTPResponseException as error:
        smtp.close()
        raise _Refused(f"the SMTP server {where} said {_reply(error.smtp_code, error.smtp_error)}") from None
    except (ssl.SSLError, smtplib.SMTPException, OSError) as error:
        smtp.close()
        raise _Refused(f"talking to the SMTP server {where} failed ({error})") from None
    return smtp


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}"


def _common(results: list[tuple[str, str]]) -> str:
    """One reason for all recipients if they share it, else the first's (all are in the record)."""
    reasons = [reason for _, reason in results if reason]
    return reasons[0] if len(set(reasons)) == 1 else f"{reasons[0]} (and more; see `campaign deliver --list`)"


# -- the record ------------------------------------------------------------------------------------


def history(engine: Engine, slug: str | None = None, *, limit: int = 200) -> list[DeliveryRecord]:
    """Deliveries, newest first; of one appeal, or of every appeal."""
    query = (
        select(Delivery, Appeal.slug)
        .join(Appeal, Appeal.id == Delivery.appeal_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    if slug is not None:
        query = query.where(Appeal.slug == slug)
    with Session(engine) as session:
        return [_record(delivery, appeal) for delivery, appeal in session.execute(query).all()]


def get(engine: Engine, delivery_id: int) -> DeliveryRecord:
    query = select(Delivery, Appeal.slug).join(Appeal, Appeal.id == Delivery.appeal_id)
    with Session(engine) as session:
        delivery, appeal = session.execute(query.where(Delivery.id == delivery_id)).one()
    return _record(delivery, appeal)


def last_delivered(engine: Engine, slug: str) -> DeliveryRecord | None:
    """The latest delivery of an appeal that reached at least one recipient."""
    for record in history(engine, slug):
        if record.status in {"sent", "partial"}:
            return record
    return None


def latest_by_appeal(engine: Engine) -> dict[str, DeliveryRecord]:
    """Each appeal's latest delivery that reached someone: what listings show."""
    latest: dict[str, DeliveryRecord] = {}
    for record in reversed(history(engine, limit=100_000)):
        if record.status in {"sent", "partial"}:
            latest[record.appeal] = record
    return latest


def _record(row: Delivery, slug: str) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        appeal=slug,
        created_at=row.created_at,
        actor=row.actor,
        recipients=tuple(row.recipients or ()),
        message_ids=tuple(row.message_ids or ()),
        signatures=row.signatures,
        period_start=row.period_start,
        period_end=row.period_end,
        document_sha256=row.document_sha256,
        csv_sha256=row.csv_sha256,
        status=row.status,
        error=row.error,
        finished_at=row.finished_at,
    )
