"""The write path: the one place that records supporters' actions in the database.

``Recorder.record`` takes a batch of inbound texts and, in one transaction, upserts the
supporters, logs each provider message id once, records signatures (one per supporter
and appeal), applies STOP/START/JOIN, and bumps the tallies.  It returns each message's
outcome and the tally values after the commit, which the live view copies to Redis.

Rows go to each statement as a list (executemany), so SQLAlchemy compiles each statement
once and batches the rows itself.  Statements touch rows in a sorted order so that
concurrent batches on PostgreSQL do not deadlock; duplicates are absorbed by unique
constraints (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from campaign.history import rollups
from campaign.inbound import replies
from campaign.inbound.directory import AppealInfo, Directory, current_version, load
from campaign.inbound.keywords import Intent, Reading
from campaign.inbound.message import InboundSms, Outcome
from campaign.live.changes import LiveChanges, Signed, epoch_minute, tally_field
from campaign.messaging.outbox import ThankYou, queue_replies, queue_thank_yous
from campaign.storage.db import dialect_insert
from campaign.storage.models import NETWORK, InboundMessage, MessagePart, Signature, Supporter, Tally
from campaign.supporters.phones import Sender

PARTS_KEPT = timedelta(days=2)  # how long parts of a completed text are remembered
# The outbox kind of a reply queued for a provider that cannot answer in the webhook's response
REPLY_KINDS = {Intent.HELP: "help", Intent.STOP: "opt_out_confirmation"}

CLOSED = {
    "en": "Thank you! The appeal for {person} is closed; watch for our next alert.",
    "nl": "Dank je! De oproep voor {person} is gesloten; let op onze volgende oproep.",
}


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    changes: LiveChanges


@dataclass(frozen=True, slots=True)
class SignatureInput:
    """A signature given outside an SMS exchange (historical import, web form)."""

    appeal_slug: str
    sender: Sender
    channel: str
    provider: str
    provider_message_id: str
    received_at: datetime


class Recorder:
    """Records batches of supporters' actions; one instance per process."""

    def __init__(
        self,
        engine: Engine,
        yes_words: tuple[str, ...],
        default_language: str = "en",
        thank_you_delay: float = 0.0,
    ):
        self.engine = engine
        self.yes_words = yes_words
        self.default_language = default_language
        # > 0: a JA is thanked by a text from the outbox this many seconds later, with the
        # count then, instead of in the webhook's reply.
        self.thank_you_delay = thank_you_delay
        self._directory: Directory | None = None

    # -- appeals ---------------------------------------------------------------------------
    def directory(self, connection: Connection | None = None) -> Directory:
        if connection is None:
            with self.engine.connect() as fresh:
                return self.directory(fresh)
        version = current_version(connection)
        if self._directory is None or self._directory.version != version:
            self._directory = load(connection, self.yes_words)
        return self._directory

    # -- inbound SMS -----------------------------------------------------------------------
    def record(self, messages: Sequence[InboundSms]) -> BatchResult:
        with self.engine.begin() as connection:
            return _SmsBatch(self, connection, messages).run()

    def offline_outcomes(self, messages: Sequence[InboundSms]) -> list[Outcome]:
        """Answers for texts kept in the spool while the database is away: no counts yet."""
        directory = self._directory
        outcomes = []
        for message in messages:
            if message.part is not None and message.part.total > 1:
                outcomes.append(Outcome(intent=None, spooled=True))
                continue
            reading = directory.book.read(message.text) if directory else None
            appeal = directory.by_slug.get(reading.appeal_slug or "") if directory and reading else None
            if appeal is None and directory is not None:
                featured = directory.featured.get(message.short_code)
                appeal = directory.by_id.get(featured) if featured is not None else None
            language = (reading.language if reading else None) or self.default_language
            if reading is not None and reading.intent is Intent.SIGN and appeal is not None:
                reply = replies.received(appeal.words, reading.language)
            else:
                reply = replies.plain(replies.RECEIVED_PLAIN, language)
            intent = reading.intent if reading else Intent.UNKNOWN
            outcomes.append(Outcome(intent, appeal.slug if appeal else None, spooled=True, reply=reply))
        return outcomes

    # -- signatures given elsewhere (imports) ------------------------------------------------
    def record_signatures(self, inputs: Sequence[SignatureInput]) -> tuple[int, LiveChanges]:
        """Record signatures for named appeals; returns how many were new."""
        with self.engine.begin() as connection:
            directory = self.directory(connection)
            supporters = upsert_supporters(connection, [(i.sender, i.received_at) for i in inputs])
            rows = []
            for item in inputs:
                appeal = directory.by_slug[item.appeal_slug]
                rows.append(
                    {
                        "appeal_id": appeal.id,
                        "supporter_id": supporters[item.sender.phone_hash]["id"],
                        "channel": item.channel,
                        "provider": item.provider,
                        "provider_message_id": item.provider_message_id,
                        "country": item.sender.country,
                        "received_at": item.received_at,
                    }
                )
            counted = newly_signed(rows, insert_signatures(connection, rows))
            rollups.add_signatures(connection, counted)
            changes = LiveChanges()
            bump_tallies(connection, directory, signature_increments(counted), changes)
            return len(counted), changes


class _SmsBatch:
    """One transaction's worth of inbound texts."""

    def __init__(self, recorder: Recorder, connection: Connection, messages: Sequence[InboundSms]):
        self.recorder = recorder
        self.connection = connection
        self.messages = messages
        self.directory = recorder.directory(connection)
        self.outcomes: list[Outcome | None] = [None] * len(messages)
        self.changes = LiveChanges()

    def run(self) -> BatchResult:
        whole = self._assemble_parts()
        first_of: dict[tuple[str, str], int] = {}
        unique: list[tuple[int, InboundSms]] = []
        for index, message in whole:
            key = (message.provider, message.message_id)
            if key in first_of:
                continue
            first_of[key] = index
            unique.append((index, message))
        if unique:
            self._handle(unique)
        # Repeats of a message id within the batch get the first one's answer, as retries.
        for index, message in whole:
            first = first_of[(message.provider, message.message_id)]
            if first != index:
                done = self.outcomes[first]
                assert done is not None
                self.outcomes[index] = replace(done, counted=False, retry=True)
        outcomes = [o if o is not None else Outcome(intent=None) for o in self.outcomes]
        return BatchResult(outcomes, self.changes)

    # Concatenated texts arrive in parts; keep parts until the set is complete.
    def _assemble_parts(self) -> list[tuple[int, InboundSms]]:
        whole: list[tuple[int, InboundSms]] = []
        parts: list[tuple[int, InboundSms]] = []
        for index, message in enumerate(self.messages):
            if message.part is None or message.part.total <= 1:
                whole.append((index, message))
            else:
                parts.append((index, message))
        if not parts:
            return whole
        table = MessagePart.__table__
        rows = [
            {
                "provider": m.provider,
                "phone_hash": m.sender.phone_hash,
                "reference": m.part.reference,
                "part": m.part.number,
                "total": m.part.total,
                "provider_message_id": m.message_id,
                "body": m.text,
                "received_at": m.received_at,
            }
            for _, m in parts
            if m.part is not None
        ]
        insert = dialect_insert(self.connection, table)
        self.connection.execute(insert.on_conflict_do_nothing(), rows)
        last_of_set: dict[tuple[str, str, str], tuple[int, InboundSms]] = {}
        for index, message in parts:
            assert message.part is not None
            last_of_set[(message.provider, message.sender.phone_hash, message.part.reference)] = (
                index,
                message,
            )
        for (provider, phone_hash, reference), (index, message) in sorted(last_of_set.items()):
            assert message.part is not None
            total = message.part.total
            stored = self.connection.execute(
                select(MessagePart.id, MessagePart.part, MessagePart.body, MessagePart.provider_message_id)
                .where(
                    MessagePart.provider == provider,
                    MessagePart.phone_hash == phone_hash,
                    MessagePart.reference == reference,
                    MessagePart.total == total,
                    MessagePart.done.is_(False),
                )
                .order_by(MessagePart.part, MessagePart.id)
            ).all()
            first_of_part: dict[int, Any] = {}
            for row in stored:
                first_of_part.setdefault(row.part, row)
            if set(first_of_part) != set(range(1, total + 1)):
                continue
            used = [row.id for row in first_of_part.values()]
            self.connection.execute(update(MessagePart).where(MessagePart.id.in_(used)).values(done=True))
            self.connection.execute(
                delete(MessagePart).where(
                    MessagePart.provider == provider,
                    MessagePart.phone_hash == phone_hash,
                    MessagePart.done.is_(True),
                    MessagePart.received_at < message.received_at - PARTS_KEPT,
                )
            )
            ordered = [first_of_part[n] for n in range(1, total + 1)]
            text = "".join(row.body for row in ordered)
            whole.append(
                (
                    index,
                    replace(message, message_id=ordered[0].provider_message_id, text=text, part=None),
                )
            )
        return sorted(whole, key=lambda item: item[0])

    def _handle(self, items: list[tuple[int, InboundSms]]) -> None:
        connection = self.connection
        directory = self.directory
        supporters = upsert_supporters(connection, [(m.sender, m.received_at) for _, m in items])
        readings = {index: directory.book.read(m.text) for index, m in items}
        appeals = {
            index: self._appeal_for(readings[index], m, supporters[m.sender.phone_hash]) for index, m in items
        }
        new_ids = self._log_messages(items, readings, appeals, supporters)

        signature_rows: list[dict[str, Any]] = []
        new_members = 0
        joined: Counter[tuple[int, int, str]] = Counter()  # rollup: (hour, appeal, country)
        for index, message in items:
            if (message.provider, message.message_id) not in new_ids:
                continue
            reading, appeal = readings[index], appeals[index]
            supporter_id = supporters[message.sender.phone_hash]["id"]
            if reading.intent is Intent.SIGN and appeal is not None and appeal.is_open:
                signature_rows.append(
                    {
                        "appeal_id": appeal.id,
                        "supporter_id": supporter_id,
                        "channel": message.channel,
                        "provider": message.provider,
                        "provider_message_id": message.message_id,
                        "country": message.sender.country,
                        "received_at": message.received_at,
                        "_index": index,
                    }
                )
            elif reading.intent is Intent.STOP:
                connection.execute(
                    update(Supporter)
                    .where(Supporter.id == supporter_id)
                    .values(opted_out=True, opted_out_at=message.received_at, subscribed=False)
                )
            elif reading.intent is Intent.START:
                connection.execute(
                    update(Supporter)
                    .where(Supporter.id == supporter_id)
                    .values(
                        opted_out=False,
                        opted_out_at=None,
                        subscribed=Supporter.member_since.is_not(None),
                    )
                )
            elif reading.intent is Intent.JOIN:
                became_member = connection.execute(
                    update(Supporter)
                    .where(Supporter.id == supporter_id, Supporter.member_since.is_(None))
                    .values(member_since=message.received_at)
                ).rowcount
                connection.execute(
                    update(Supporter)
                    .where(Supporter.id == supporter_id)
                    .values(subscribed=True, opted_out=False, opted_out_at=None)
                )
                new_members += became_member
                if became_member:
                    appeal_id = appeal.id if appeal is not None else rollups.NO_APPEAL
                    joined[(rollups.hour_of(message.received_at), appeal_id, message.sender.country)] += 1

        counted_rows = newly_signed(signature_rows, insert_signatures(connection, signature_rows))
        rollups.add_signatures(connection, counted_rows)
        rollups.add_members(connection, joined)
        counted_indexes = {row["_index"] for row in counted_rows}
        increments = signature_increments(counted_rows)
        if new_members:
            increments[(NETWORK, "members", "")] += new_members
        totals = bump_tallies(connection, directory, increments, self.changes)
        for row in counted_rows:
            appeal = directory.by_id[row["appeal_id"]]
            message = self.messages[row["_index"]]
            self.changes.signed.append(
                Signed(
                    appeal.slug,
                    message.sender.masked,
                    row["country"],
                    row["channel"],
                    row["received_at"],
                )
            )

        wanted = {a.id for a in appeals.values() if a is not None and a.id not in totals}
        if wanted:
            totals.update(
                connection.execute(
                    select(Tally.appeal_id, Tally.count).where(
                        Tally.appeal_id.in_(sorted(wanted)), Tally.kind == "total"
                    )
                ).all()
            )
        thanks: list[ThankYou] = []
        queued_replies: list[tuple[int, str, str]] = []
        for index, message in items:
            retry = (message.provider, message.message_id) not in new_ids
            outcome = self._outcome(readings[index], appeals[index], index in counted_indexes, retry, totals)
            appeal = appeals[index]
            if (
                (self.recorder.thank_you_delay > 0 or not message.replies_inline)
                and outcome.intent is Intent.SIGN
                and appeal
                and appeal.is_open
            ):
                if not retry:  # the first delivery of this text queued it already
                    template = "thank_you" if outcome.counted else "already_signed"
                    supporter_id = supporters[message.sender.phone_hash]["id"]
                    language = readings[index].language
                    thanks.append(ThankYou(supporter_id, appeal.id, template, language, outcome.reply or ""))
                outcome = replace(outcome, reply=None)
            if outcome.reply and not message.replies_inline:
                if not retry:
                    kind = REPLY_KINDS.get(outcome.intent, "reply") if outcome.intent else "reply"
                    queued_replies.append((supporters[message.sender.phone_hash]["id"], kind, outcome.reply))
                outcome = replace(outcome, reply=None)
            self.outcomes[index] = outcome
        queue_thank_yous(connection, thanks, self.recorder.thank_you_delay)
        queue_replies(connection, queued_replies)

    def _appeal_for(
        self, reading: Reading, message: InboundSms, supporter: dict[str, Any]
    ) -> AppealInfo | None:
        directory = self.directory
        if reading.appeal_slug is not None:
            return directory.by_slug.get(reading.appeal_slug)
        if reading.intent is not Intent.SIGN:
            featured = directory.featured.get(message.short_code)
            return directory.by_id.get(featured) if featured is not None else None
        latest = directory.by_id.get(supporter["latest_alert_appeal_id"] or -1)
        if latest is not None and latest.is_open:
            return latest
        featured = directory.featured.get(message.short_code)
        return directory.by_id.get(featured) if featured is not None else latest

    def _log_messages(
        self,
        items: list[tuple[int, InboundSms]],
        readings: dict[int, Reading],
        appeals: dict[int, AppealInfo | None],
        supporters: dict[str, dict[str, Any]],
    ) -> set[tuple[str, str]]:
        rows = []
        for index, message in sorted(items, key=lambda item: item[1].message_id):
            intent = readings[index].intent
            appeal = appeals[index]
            rows.append(
                {
                    "provider": message.provider,
                    "provider_message_id": message.message_id,
                    "supporter_id": supporters[message.sender.phone_hash]["id"],
                    "short_code": message.short_code,
                    "intent": intent.value,
                    "appeal_id": appeal.id if appeal is not None else None,
                    # Only texts nobody understood are kept, for staff to read.
                    "body": message.text if intent is Intent.UNKNOWN else None,
                    "received_at": message.received_at,
                }
            )
        table = InboundMessage.__table__
        statement = (
            dialect_insert(self.connection, table)
            .on_conflict_do_nothing()
            .returning(table.c.provider, table.c.provider_message_id)
        )
        return {(p, m) for p, m in self.connection.execute(statement, rows)}

    def _outcome(
        self,
        reading: Reading,
        appeal: AppealInfo | None,
        counted: bool,
        retry: bool,
        totals: dict[int, int],
    ) -> Outcome:
        language = reading.language or (appeal.words.language if appeal else self.recorder.default_language)
        intent = reading.intent
        slug = appeal.slug if appeal else None
        if intent is Intent.SIGN:
            if appeal is None:
                return Outcome(intent, None, reply=replies.plain(replies.NO_APPEAL, language))
            total = totals.get(appeal.id, 0)
            if not appeal.is_open:
                text = replies.fit((CLOSED.get(language) or CLOSED["en"]).format(person=appeal.words.person))
                return Outcome(intent, slug, retry=retry, total=total, reply=text)
            if counted or retry:
                text = replies.thank_you(appeal.words, total, reading.language)
            else:
                text = replies.already_signed(appeal.words, total, reading.language)
            return Outcome(intent, slug, counted=counted, retry=retry, total=total, reply=text)
        table = {
            Intent.STOP: replies.STOPPED,
            Intent.START: replies.STARTED,
            Intent.JOIN: replies.JOINED,
            Intent.HELP: replies.HELP,
            Intent.UNKNOWN: replies.UNKNOWN,
        }[intent]
        return Outcome(intent, slug, retry=retry, reply=replies.plain(table, language))


def upsert_supporters(
    connection: Connection, senders: Iterable[tuple[Sender, datetime]]
) -> dict[str, dict[str, Any]]:
    """Create supporters not seen before; return every sender's row by phone hash."""
    first: dict[str, tuple[Sender, datetime]] = {}
    latest: dict[str, datetime] = {}
    for sender, seen_at in senders:
        first.setdefault(sender.phone_hash, (sender, seen_at))
        latest[sender.phone_hash] = max(seen_at, latest.get(sender.phone_hash, seen_at))
    if not first:
        return {}
    hashes = sorted(first)
    table = Supporter.__table__
    rows = [
        {
            "phone_hash": h,
            "phone_encrypted": first[h][0].phone_encrypted,
            "country": first[h][0].country,
            "first_seen_at": first[h][1],
            "subscribed": False,
            "opted_out": False,
            "last_active_at": latest[h],
        }
        for h in hashes
    ]
    insert = dialect_insert(connection, table)
    # A returning supporter's last activity moves forward (never back): what retention reads.
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.phone_hash],
        set_={"last_active_at": insert.excluded.last_active_at},
        where=table.c.last_active_at.is_(None) | (table.c.last_active_at < insert.excluded.last_active_at),
    )
    connection.execute(statement, rows)
    found = connection.execute(
        select(table.c.id, table.c.phone_hash, table.c.latest_alert_appeal_id).where(
            table.c.phone_hash.in_(hashes)
        )
    ).mappings()
    return {row["phone_hash"]: dict(row) for row in found}


def insert_signatures(connection: Connection, rows: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """Insert signatures, ignoring pairs already signed; return the (appeal, supporter) added."""
    if not rows:
        return set()
    table = Signature.__table__
    values = sorted(
        ({k: v for k, v in row.items() if not k.startswith("_")} for row in rows),
        key=lambda row: (row["appeal_id"], row["supporter_id"]),
    )
    statement = (
        dialect_insert(connection, table)
        .on_conflict_do_nothing()
        .returning(table.c.appeal_id, table.c.supporter_id)
    )
    return {(a, s) for a, s in connection.execute(statement, values)}


def newly_signed(rows: list[dict[str, Any]], inserted: set[tuple[int, int]]) -> list[dict[str, Any]]:
    """The rows that added a signature: the first of each inserted pair, in batch order."""
    counted = []
    for row in rows:
        pair = (row["appeal_id"], row["supporter_id"])
        if pair in inserted:
            inserted.discard(pair)  # a second JA in the same batch is not counted again
            counted.append(row)
    return counted


def signature_increments(rows: Iterable[dict[str, Any]]) -> Counter[tuple[int, str, str]]:
    increments: Counter[tuple[int, str, str]] = Counter()
    for row in rows:
        appeal_id = row["appeal_id"]
        increments[(appeal_id, "total", "")] += 1
        increments[(appeal_id, "channel", row["channel"])] += 1
        increments[(appeal_id, "country", row["country"])] += 1
        increments[(appeal_id, "minute", str(epoch_minute(row["received_at"])))] += 1
    return increments


def bump_tallies(
    connection: Connection,
    directory: Directory,
    increments: Counter[tuple[int, str, str]],
    changes: LiveChanges,
) -> dict[int, int]:
    """Add to the tallies; record their new values in ``changes``; return totals per appeal."""
    if not increments:
        return {}
    table = Tally.__table__
    insert = dialect_insert(connection, table)
    rows = [
        {"appeal_id": a, "kind": k, "key": key, "count": n} for (a, k, key), n in sorted(increments.items())
    ]
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.appeal_id, table.c.kind, table.c.key],
        set_={"count": table.c.count + insert.excluded.count},
    ).returning(table.c.appeal_id, table.c.kind, table.c.key, table.c.count)
    totals: dict[int, int] = {}
    for appeal_id, kind, key, count in connection.execute(statement, rows):
        scope = "*" if appeal_id == NETWORK else directory.by_id[appeal_id].slug
        changes.tallies[scope][tally_field(kind, key)] = count
        if kind == "total":
            totals[appeal_id] = count
    return totals
