"""Supporters' privacy: erasure ("forget"), subject access ("export") and retention.

Erasure removes a person's number (the ciphertext) and every link to it (the keyed hash,
their message log, parts of long texts, provider message ids, ticker entries in Redis,
texts waiting in the spool) while the anonymous counts stay: signatures remain as rows of
an anonymised supporter, tallies and live figures do not move.  The same number texting
again is a new, unlinked supporter.

Other parts of the system that keep something about a supporter register a cleanup with
``register_eraser`` (it runs inside the erasure's transaction) and, for subject access,
an exporter with ``register_exporter``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import Connection, Engine, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from campaign import audit
from campaign.errors import NotFound
from campaign.inbound.spool import Spool
from campaign.live.view import LiveView
from campaign.messaging import outbox
from campaign.storage.models import Appeal, InboundMessage, MessagePart, OutboxMessage, Signature, Supporter
from campaign.supporters.phones import PhoneVault, e164, mask, normalise

ERASED_MESSAGE_ID = "erased"


@dataclass(frozen=True, slots=True)
class Subject:
    """A supporter about to be erased, as this process holds them in memory only."""

    supporter_id: int
    phone_hash: str | None
    masked: str | None

    @property
    def reference(self) -> str:
        """What the audit log names: the supporter row, which holds nothing personal after."""
        return f"supporter:{self.supporter_id}"


Eraser = Callable[[Connection, Sequence[Subject]], int]
Exporter = Callable[[Connection, int], Any]

_erasers: dict[str, Eraser] = {}
_exporters: dict[str, Exporter] = {}


def register_eraser(name: str) -> Callable[[Eraser], Eraser]:
    """Add a cleanup run in every erasure's transaction; it returns how many rows it touched.

    Example, for a table of queued outgoing texts keyed by supporter::

        @privacy.register_eraser("outbox")
        def _forget_outbox(connection, subjects):
            ids = [s.supporter_id for s in subjects]
            return connection.execute(delete(Outbox).where(Outbox.supporter_id.in_(ids))).rowcount
    """

    def add(function: Eraser) -> Eraser:
        _erasers[name] = function
        return function

    return add


def register_exporter(name: str) -> Callable[[Exporter], Exporter]:
    """Add a section to subject-access exports: ``function(connection, supporter_id)``."""

    def add(function: Exporter) -> Exporter:
        _exporters[name] = function
        return function

    return add


@dataclass
class ErasureReport:
    supporters: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ticker_entries: int = 0
    spooled_texts: int = 0
    live_error: str | None = None

    def line(self) -> str:
        touched = ", ".join(f"{name} {n}" for name, n in sorted(self.rows.items()) if n)
        text = f"{self.supporters} supporter(s) erased"
        if touched:
            text += f" ({touched})"
        if self.ticker_entries:
            text += f"; {self.ticker_entries} ticker entr{'y' if self.ticker_entries == 1 else 'ies'} removed"
        if self.spooled_texts:
            text += f"; {self.spooled_texts} spooled text(s) dropped"
        return text


# -- finding a person -------------------------------------------------------------------------
def find(engine: Engine, vault: PhoneVault, raw: str, region: str | None = None) -> Subject:
    """The supporter known by this number, in any format phonenumbers reads."""
    text = raw.strip()
    if text.startswith("00"):  # the international prefix of most countries, as people type it
        text = "+" + text[2:]
    number = normalise(text, region.upper() if region else None)
    masked = mask(number)
    phone_hash = vault.hash(e164(number))
    with engine.connect() as connection:
        supporter_id = connection.scalar(select(Supporter.id).where(Supporter.phone_hash == phone_hash))
    if supporter_id is None:
        raise NotFound(f"no supporter is known by {masked}", code="unknown_supporter")
    return Subject(supporter_id, phone_hash, masked)


def subjects_of(connection: Connection, vault: PhoneVault, ids: Sequence[int]) -> list[Subject]:
    rows = connection.execute(
        select(Supporter.id, Supporter.phone_hash, Supporter.phone_encrypted).where(Supporter.id.in_(ids))
    )
    return [Subject(i, h, _masked(vault, encrypted)) for i, h, encrypted in rows]


def _masked(vault: PhoneVault, encrypted: str | None) -> str | None:
    if not encrypted:
        return None
    try:
        return mask(normalise(vault.decrypt(encrypted)))
    except ValueError:
        return None


# -- erasure ----------------------------------------------------------------------------------
def erase(
    engine: Engine,
    subjects: Sequence[Subject],
    *,
    live: LiveView | None,
    spool: Spool | None,
    actor: str,
    reason: str,
) -> ErasureReport:
    """Erase the subjects' numbers and identity links; anonymous counts stay as they are.

    The spool goes first, so a text waiting there cannot bring the number back after the
    database forgot it; then one database transaction; then the Redis ticker.  (An ingest
    process draining the same spool at that very moment may still record such a text; it
    then counts as a new, unlinked supporter, as if the person had texted again.)
    """
    report = ErasureReport()
    if not subjects:
        return report
    hashes = {s.phone_hash for s in subjects if s.phone_hash}
    if spool is not None and hashes:
        report.spooled_texts = spool.remove(lambda message: message.sender.phone_hash in hashes)
    ids = [s.supporter_id for s in subjects]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # overwrite deleted content instead of leaving it in free pages
            connection.exec_driver_sql("PRAGMA secure_delete=ON")
        ticker = _ticker_entries(connection, subjects)
        for name, function in [*BUILT_IN, *_erasers.items()]:
            report.rows[name] += function(connection, subjects)
        report.rows["supporters"] += _anonymise_supporters(connection, ids)
        report.supporters = len(ids)
        session = Session(bind=connection)
        for subject in subjects if len(subjects) <= 20 else []:
            audit.record(session, actor, "supporter.forget", subject.reference, {"reason": reason})
        if len(subjects) > 20:
            audit.record(
                session,
                actor,
                "supporter.forget",
                f"supporters:{min(ids)}..{max(ids)}",
                {"reason": reason, "supporters": len(ids)},
            )
        session.flush()
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA secure_delete=OFF")
            # Old versions of the pages live on in the write-ahead log until a checkpoint.
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.commit()
    if live is not None and ticker:
        try:
            report.ticker_entries = live.forget_recent(ticker)
        except (redis.RedisError, OSError) as error:
            report.live_error = str(error)
    return report


def _ticker_entries(
    connection: Connection, subjects: Sequence[Subject]
) -> dict[str, list[tuple[str, datetime]]]:
    """Which ticker entries may show these people: (masked number, time) per appeal slug."""
    masked = {s.supporter_id: s.masked for s in subjects if s.masked}
    if not masked:
        return {}
    entries: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for supporter_id, slug, received_at in connection.execute(
        select(Signature.supporter_id, Appeal.slug, Signature.received_at)
        .join(Appeal, Appeal.id == Signature.appeal_id)
        .where(Signature.supporter_id.in_(sorted(masked)))
    ):
        entries[slug].append((masked[supporter_id], received_at))
    return dict(entries)


def _forget_messages(connection: Connection, subjects: Sequence[Subject]) -> int:
    """The message log names the person (and the provider's id leads back to the number)."""
    ids = [s.supporter_id for s in subjects]
    return connection.execute(delete(InboundMessage).where(InboundMessage.supporter_id.in_(ids))).rowcount


def _forget_parts(connection: Connection, subjects: Sequence[Subject]) -> int:
    hashes = [s.phone_hash for s in subjects if s.phone_hash]
    if not hashes:
        return 0
    return connection.execute(delete(MessagePart).where(MessagePart.phone_hash.in_(hashes))).rowcount


def _unlink_signatures(connection: Connection, subjects: Sequence[Subject]) -> int:
    """Signatures stay (they are the counts); the provider's message id, a link, goes."""
    ids = [s.supporter_id for s in subjects]
    return connection.execute(
        update(Signature)
        .where(Signature.supporter_id.in_(ids), Signature.provider_message_id != ERASED_MESSAGE_ID)
        .values(provider_message_id=ERASED_MESSAGE_ID)
    ).rowcount


def _anonymise_supporters(connection: Connection, ids: Sequence[int]) -> int:
    return connection.execute(
        update(Supporter)
        .where(Supporter.id.in_(ids))
        .values(
            phone_hash=None,
            phone_encrypted=None,
            latest_alert_appeal_id=None,
            subscribed=False,
            last_active_at=None,
            erased_at=datetime.now(UTC),
        )
    ).rowcount


def _forget_outbox(connection: Connection, subjects: Sequence[Subject]) -> int:
    """Texts to them, queued or sent: their bodies name the appeals they took part in."""
    return sum(outbox.forget_supporter(connection, s.supporter_id) for s in subjects)


BUILT_IN: list[tuple[str, Eraser]] = [
    ("outbox", _forget_outbox),
    ("inbound_messages", _forget_messages),
    ("message_parts", _forget_parts),
    ("signatures", _unlink_signatures),
]


def forget(
    engine: Engine,
    vault: PhoneVault,
    raw: str,
    *,
    live: LiveView | None,
    spool: Spool | None,
    actor: str,
    region: str | None = None,
) -> ErasureReport:
    """Erase one person, named by their number (``campaign supporter forget``)."""
    found = find(engine, vault, raw, region)
    with engine.connect() as connection:
        (subject,) = subjects_of(connection, vault, [found.supporter_id])
    return erase(engine, [subject], live=live, spool=spool, actor=actor, reason="request")


# -- subject access ---------------------------------------------------------------------------
def export(
    engine: Engine, vault: PhoneVault, raw: str, *, actor: str, region: str | None = None
) -> dict[str, Any]:
    """Everything kept about one person, for them (``campaign supporter export``).

    Texts sent to them are those of the outbox (thank-yous, alerts, outcome messages);
    immediate webhook replies are not stored.
    """
    subject = find(engine, vault, raw, region)
    with engine.connect() as connection:
        supporter = connection.execute(select(Supporter).where(Supporter.id == subject.supporter_id)).one()
        signatures = connection.execute(
            select(Appeal.slug, Appeal.title, Signature.channel, Signature.received_at)
            .join(Appeal, Appeal.id == Signature.appeal_id)
            .where(Signature.supporter_id == subject.supporter_id)
            .order_by(Signature.received_at)
        ).all()
        appeal_slugs = dict(connection.execute(select(Appeal.id, Appeal.slug)).all())
        messages = connection.execute(
            select(
                InboundMessage.received_at,
                InboundMessage.short_code,
                InboundMessage.intent,
                InboundMessage.appeal_id,
                InboundMessage.body,
            )
            .where(InboundMessage.supporter_id == subject.supporter_id)
            .order_by(InboundMessage.received_at, InboundMessage.id)
        ).all()
        data: dict[str, Any] = {
            "number": vault.decrypt(supporter.phone_encrypted) if supporter.phone_encrypted else None,
            "country": supporter.country,
            "first_seen_at": _iso(supporter.first_seen_at),
            "last_active_at": _iso(supporter.last_active_at),
            "subscribed": supporter.subscribed,
            "opted_out": supporter.opted_out,
            "opted_out_at": _iso(supporter.opted_out_at),
            "member_since": _iso(supporter.member_since),
            "signatures": [
                {"appeal": slug, "title": title, "channel": channel, "signed_at": _iso(at)}
                for slug, title, channel, at in signatures
            ],
            "messages_received": [
                {
                    "received_at": _iso(at),
                    "to": short_code,
                    "understood_as": intent,
                    "appeal": appeal_slugs.get(appeal_id) if appeal_id is not None else None,
                    # Texts that were understood are not kept; only their meaning is.
                    "text": body,
                }
                for at, short_code, intent, appeal_id, body in messages
            ],
        }
        data["messages_sent"] = [
            {
                "kind": kind,
                "appeal": appeal_slugs.get(appeal_id) if appeal_id is not None else None,
                "text": body,
                "status": status,
                "sent_at": _iso(sent_at),
            }
            for kind, appeal_id, body, status, sent_at in connection.execute(
                select(
                    OutboxMessage.kind,
                    OutboxMessage.appeal_id,
                    OutboxMessage.body,
                    OutboxMessage.status,
                    OutboxMessage.sent_at,
                )
                .where(OutboxMessage.supporter_id == subject.supporter_id)
                .order_by(OutboxMessage.id)
            )
        ]
        for name, function in _exporters.items():
            data[name] = function(connection, subject.supporter_id)
    data["exported_at"] = _iso(datetime.now(UTC))
    audit.record(engine, actor, "supporter.export", subject.reference, {})
    return data


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


# -- retention --------------------------------------------------------------------------------
RETENTION_BATCH = 500


def retention_cutoff(months: int, now: datetime | None = None) -> datetime:
    """``months`` calendar-ish months before now (30.44 days each)."""
    return (now or datetime.now(UTC)) - timedelta(days=round(months * 30.44))


def inactive_supporters(engine: Engine, cutoff: datetime) -> Iterator[list[int]]:
    """Ids of supporters with a number and no signature or text since the cutoff, in batches."""
    last_id = 0
    while True:
        with engine.connect() as connection:
            ids = list(
                connection.scalars(
                    select(Supporter.id)
                    .where(
                        Supporter.id > last_id,
                        or_(Supporter.phone_hash.is_not(None), Supporter.phone_encrypted.is_not(None)),
                        # Two plain comparisons rather than COALESCE, so the index serves them.
                        or_(
                            Supporter.last_active_at < cutoff,
                            and_(Supporter.last_active_at.is_(None), Supporter.first_seen_at < cutoff),
                        ),
                    )
                    .order_by(Supporter.id)
                    .limit(RETENTION_BATCH)
                )
            )
        if not ids:
            return
        yield ids
        last_id = ids[-1]


@dataclass
class RetentionReport:
    months: int
    cutoff: datetime
    due: int = 0
    erasure: ErasureReport = field(default_factory=ErasureReport)


def run_retention(
    engine: Engine,
    vault: PhoneVault,
    months: int,
    *,
    live: LiveView | None,
    spool: Spool | None,
    actor: str,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Erase the numbers of supporters inactive for ``months`` (``campaign retention run``)."""
    cutoff = retention_cutoff(months, now)
    report = RetentionReport(months, cutoff)
    for ids in inactive_supporters(engine, cutoff):
        report.due += len(ids)
        if dry_run:
            continue
        with engine.connect() as connection:
            subjects = subjects_of(connection, vault, ids)
        done = erase(
            engine, subjects, live=live, spool=spool, actor=actor, reason=f"retention {months} months"
        )
        report.erasure.supporters += done.supporters
        report.erasure.ticker_entries += done.ticker_entries
        report.erasure.spooled_texts += done.spooled_texts
        report.erasure.live_error = report.erasure.live_error or done.live_error
        for name, n in done.rows.items():
            report.erasure.rows[name] += n
    return report
