"""One transaction's worth of inbound texts, as ``Recorder.record`` writes them.

The steps, in order: assemble concatenated texts from their parts; read each text (its
intent and appeal); log each provider message id once; apply each new text's intent
(signature, STOP, START, JOIN); count the new signatures and members into the rollups and
tallies; then answer every text, queueing the replies that cannot go in the webhook's answer.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from campaign.history import rollups
from campaign.inbound import replies
from campaign.inbound.directory import AppealInfo, Directory
from campaign.inbound.keywords import Intent, Reading
from campaign.inbound.languages import next_language
from campaign.inbound.message import InboundSms, TextResult
from campaign.inbound.writes import (
    bump_tallies,
    insert_signatures,
    newly_signed,
    signature_increments,
    upsert_supporters,
)
from campaign.live.changes import LiveChanges, Signed
from campaign.messaging.outbox import ThankYou, queue_replies, queue_thank_yous
from campaign.storage import shards
from campaign.storage.db import dialect_insert, insert_for
from campaign.storage.models import NETWORK, InboundMessage, MessagePart, Supporter, Tally

PARTS_KEPT = timedelta(days=2)  # how long parts of a completed text are remembered
# The outbox kind of a reply queued for a provider that cannot answer in the webhook's response
REPLY_KINDS = {Intent.HELP: "help", Intent.STOP: "opt_out_confirmation"}
# The texts whose keyword's language becomes the supporter's; an opt-out, opt-in or help word
# only sets the language of its own reply ("HELP" is English and Dutch, "STOP" everyone's).
LANGUAGE_SETTERS = {Intent.SIGN, Intent.JOIN, Intent.LANGUAGE}


@dataclass
class _Read:
    """The batch's texts as read: each text's reading, appeal and the supporter's language after
    it (by index), supporters by phone hash."""

    readings: dict[int, Reading]
    appeals: dict[int, AppealInfo | None]
    supporters: dict[str, dict[str, Any]]
    languages: dict[int, str | None]

    def supporter_id(self, message: InboundSms) -> int:
        return int(self.supporters[message.sender.phone_hash]["id"])


class SmsBatch:
    """One transaction's worth of inbound texts."""

    def __init__(
        self,
        connection: Connection,
        messages: Sequence[InboundSms],
        directory: Directory,
        *,
        default_language: str,
        thank_you_delay: float,
    ):
        self.connection = connection
        self.messages = messages
        self.directory = directory
        self.default_language = default_language
        self.thank_you_delay = thank_you_delay
        self.outcomes: list[TextResult | None] = [None] * len(messages)
        self.changes = LiveChanges()
        self.tally_names: set[tuple[int, str, str]] = set()  # the tallies this batch added to
        self.totals_read: dict[tuple[int, str, str], int] = {}  # the appeals' totals, as read inside
        # Thank-you texts by template, appeal, total and language: a batch's JAs share a total.
        self._rendered: dict[tuple[str, int, int, str], str] = {}

    def run(self) -> list[TextResult]:
        """Each message's outcome, in order; the tally values after the commit are in ``changes``."""
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
        return [o if o is not None else TextResult(intent=None) for o in self.outcomes]

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
        read = self._read(items)
        new_ids = self._log_messages(items, read)
        first_deliveries = [(i, m) for i, m in items if (m.provider, m.message_id) in new_ids]
        signature_rows, new_members, joined = self._apply_intents(first_deliveries, read)
        counted_indexes = self._count(signature_rows, new_members, joined)
        totals = self._read_totals(read.appeals.values())
        self.totals_read = {(appeal_id, "total", ""): n for appeal_id, n in totals.items()}
        self._answer(items, read, new_ids, counted_indexes, totals)

    def _read(self, items: list[tuple[int, InboundSms]]) -> _Read:
        """Upsert the senders, and read each text's intent and the appeal it is about."""
        supporters = upsert_supporters(self.connection, [(m.sender, m.received_at) for _, m in items])
        readings = {index: self.directory.book.read(m.text) for index, m in items}
        appeals = {
            index: self._appeal_for(readings[index], m, supporters[m.sender.phone_hash]) for index, m in items
        }
        # Each text moves its sender's language on (texts of one sender apply in batch order):
        # the yes-, join- or language keyword's language, else theirs, else their country's.
        current = {phone_hash: row["language"] for phone_hash, row in supporters.items()}
        languages: dict[int, str | None] = {}
        for index, message in items:
            phone_hash, reading = message.sender.phone_hash, readings[index]
            named = reading.language if reading.intent in LANGUAGE_SETTERS else None
            current[phone_hash] = next_language(named, current[phone_hash], message.sender.country)
            languages[index] = current[phone_hash]
        return _Read(readings, appeals, supporters, languages)

    def _apply_intents(
        self, items: list[tuple[int, InboundSms]], read: _Read
    ) -> tuple[list[dict[str, Any]], int, Counter[tuple[int, int, str]]]:
        """Apply each text seen for the first time: signature rows to insert, STOP, START, JOIN.

        Returns the signature rows, the number of new members and the members' rollup
        increments by (hour, appeal, country).
        """
        signature_rows: list[dict[str, Any]] = []
        new_members = 0
        joined: Counter[tuple[int, int, str]] = Counter()
        languages: dict[int, str | None] = {}
        for index, message in items:
            reading, appeal = read.readings[index], read.appeals[index]
            supporter_id = read.supporter_id(message)
            languages[supporter_id] = read.languages[index]
            if reading.intent is Intent.SIGN and appeal is not None and appeal.is_open:
                signature_rows.append(_signature_row(index, message, appeal, supporter_id))
            elif reading.intent is Intent.STOP:
                self._opt_out(supporter_id, message.received_at)
            elif reading.intent is Intent.START:
                self._opt_in(supporter_id)
            elif reading.intent is Intent.JOIN:
                became_member = self._join(supporter_id, message.received_at)
                if became_member:
                    new_members += 1
                    appeal_id = appeal.id if appeal is not None else rollups.NO_APPEAL
                    joined[(rollups.hour_of(message.received_at), appeal_id, message.sender.country)] += 1
        self._set_languages(languages, read)
        return signature_rows, new_members, joined

    def _set_languages(self, languages: dict[int, str | None], read: _Read) -> None:
        """Store each sender's language where their texts changed it (what alerts read)."""
        stored = {int(row["id"]): row["language"] for row in read.supporters.values()}
        changed = [
            {"_id": supporter_id, "_language": language}
            for supporter_id, language in sorted(languages.items())
            if language is not None and language != stored.get(supporter_id)
        ]
        if changed:
            self.connection.execute(_LANGUAGE_UPDATE, changed)

    def _opt_out(self, supporter_id: int, at: datetime) -> None:
        self.connection.execute(
            update(Supporter)
            .where(Supporter.id == supporter_id)
            .values(opted_out=True, opted_out_at=at, subscribed=False)
        )

    def _opt_in(self, supporter_id: int) -> None:
        self.connection.execute(
            update(Supporter)
            .where(Supporter.id == supporter_id)
            .values(
                opted_out=False,
                opted_out_at=None,
                subscribed=Supporter.member_since.is_not(None),
            )
        )

    def _join(self, supporter_id: int, at: datetime) -> bool:
        """Subscribe the supporter; whether they became a member with this text."""
        became_member = self.connection.execute(
            update(Supporter)
            .where(Supporter.id == supporter_id, Supporter.member_since.is_(None))
            .values(member_since=at)
        ).rowcount
        self.connection.execute(
            update(Supporter)
            .where(Supporter.id == supporter_id)
            .values(subscribed=True, opted_out=False, opted_out_at=None)
        )
        return bool(became_member)

    def _count(
        self, signature_rows: list[dict[str, Any]], new_members: int, joined: Counter[tuple[int, int, str]]
    ) -> set[int]:
        """Insert the signatures, add them and the new members to the rollups and tallies.

        Returns the indexes of the texts that added a signature.
        """
        connection = self.connection
        counted_rows = newly_signed(signature_rows, insert_signatures(connection, signature_rows))
        rollups.add_signatures(connection, counted_rows)
        rollups.add_members(connection, joined)
        increments = signature_increments(counted_rows)
        if new_members:
            increments[(NETWORK, "members", "")] += new_members
        bump_tallies(connection, increments)
        self.tally_names.update(increments)
        for row in counted_rows:
            appeal = self.directory.by_id[row["appeal_id"]]
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
        return {row["_index"] for row in counted_rows}

    def _read_totals(self, appeals: Iterable[AppealInfo | None]) -> dict[int, int]:
        """The totals of the batch's appeals for the replies: summed over the shards, as this
        transaction sees them (its own signatures and every commit before it read them)."""
        wanted = {(a.id, "total", "") for a in appeals if a is not None}
        figures = shards.figures(self.connection, Tally.__table__, wanted)
        return {appeal_id: count for (appeal_id, _, _), count in figures.items()}

    def _answer(
        self,
        items: list[tuple[int, InboundSms]],
        read: _Read,
        new_ids: set[tuple[str, str]],
        counted_indexes: set[int],
        totals: dict[int, int],
    ) -> None:
        """Each text's outcome; replies that cannot go in the webhook's answer go to the outbox."""
        thanks: list[ThankYou] = []
        queued_replies: list[tuple[int, str, str]] = []
        for index, message in items:
            retry = (message.provider, message.message_id) not in new_ids
            reading, appeal = read.readings[index], read.appeals[index]
            outcome = self._outcome(
                reading, appeal, read.languages[index], index in counted_indexes, retry, totals
            )
            if (
                (self.thank_you_delay > 0 or not message.replies_inline)
                and outcome.intent is Intent.SIGN
                and appeal
                and appeal.is_open
            ):
                if not retry:  # the first delivery of this text queued it already
                    template = "thank_you" if outcome.counted else "already_signed"
                    supporter_id = read.supporter_id(message)
                    thanks.append(
                        ThankYou(
                            supporter_id, appeal.id, template, read.languages[index], outcome.reply or ""
                        )
                    )
                outcome = replace(outcome, reply=None)
            if outcome.reply and not message.replies_inline:
                if not retry:
                    kind = REPLY_KINDS.get(outcome.intent, "reply") if outcome.intent else "reply"
                    queued_replies.append((read.supporter_id(message), kind, outcome.reply))
                outcome = replace(outcome, reply=None)
            self.outcomes[index] = outcome
        queue_thank_yous(self.connection, thanks, self.thank_you_delay)
        queue_replies(self.connection, queued_replies)

    def _thanks(self, template: str, appeal: AppealInfo, total: int, language: str) -> str:
        """A thank-you (or "already signed"), rendered once per batch: its JAs share the total."""
        key = (template, appeal.id, total, language)
        text = self._rendered.get(key)
        if text is None:
            render = replies.thank_you if template == "thank_you" else replies.already_signed
            text = self._rendered[key] = render(appeal.words, total, language)
        return text

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

    def _log_messages(self, items: list[tuple[int, InboundSms]], read: _Read) -> set[tuple[str, str]]:
        """Log each text once per provider message id; return the ids logged now (not retries)."""
        rows = []
        for index, message in sorted(items, key=lambda item: item[1].message_id):
            intent = read.readings[index].intent
            appeal = read.appeals[index]
            rows.append(
                {
                    "provider": message.provider,
                    "provider_message_id": message.message_id,
                    "supporter_id": read.supporter_id(message),
                    "short_code": message.short_code,
                    "intent": intent.value,
                    "appeal_id": appeal.id if appeal is not None else None,
                    # Only texts nobody understood are kept, for staff to read.
                    "body": message.text if intent is Intent.UNKNOWN else None,
                    "received_at": message.received_at,
                }
            )
        statement = _messages_insert(self.connection.dialect.name)
        return {(p, m) for p, m in self.connection.execute(statement, rows)}

    def _outcome(
        self,
        reading: Reading,
        appeal: AppealInfo | None,
        supporter_language: str | None,
        counted: bool,
        retry: bool,
        totals: dict[int, int],
    ) -> TextResult:
        # The language of the text's own keyword, else the supporter's, when a reply exists in
        # it; else the appeal's own.
        fallback = appeal.words.language if appeal else self.default_language
        language = reading.language or supporter_language or fallback
        intent = reading.intent
        slug = appeal.slug if appeal else None
        if intent is Intent.SIGN:
            if appeal is None:
                return TextResult(intent, None, reply=replies.plain(replies.NO_APPEAL, language, fallback))
            total = totals.get(appeal.id, 0)
            if not appeal.is_open:
                text = replies.closed(appeal.words, language)
                return TextResult(intent, slug, retry=retry, total=total, reply=text)
            text = self._thanks(
                "thank_you" if counted or retry else "already_signed", appeal, total, language
            )
            return TextResult(intent, slug, counted=counted, retry=retry, total=total, reply=text)
        if intent is Intent.LANGUAGE:
            if reading.language is None:
                text = replies.unknown_language(
                    reading.unknown_language or "",
                    language,
                    fallback,
                    self.directory.book.vocabulary.languages,
                )
            else:
                text = replies.plain(replies.LANGUAGE_SET, reading.language, fallback)
            return TextResult(intent, slug, retry=retry, reply=text)
        table = {
            Intent.STOP: replies.STOPPED,
            Intent.START: replies.STARTED,
            Intent.JOIN: replies.JOINED,
            Intent.HELP: replies.HELP,
            Intent.UNKNOWN: replies.UNKNOWN,
        }[intent]
        return TextResult(intent, slug, retry=retry, reply=replies.plain(table, language, fallback))


@functools.cache
def _messages_insert(dialect: str) -> Any:
    """Built once per dialect: building it costs more than a batch's rows."""
    table = InboundMessage.__table__
    return (
        insert_for(dialect, table)
        .on_conflict_do_nothing()
        .returning(table.c.provider, table.c.provider_message_id)
    )


_LANGUAGE_UPDATE = (
    update(Supporter).where(Supporter.id == bindparam("_id")).values(language=bindparam("_language"))
)  # built once


def _signature_row(index: int, message: InboundSms, appeal: AppealInfo, supporter_id: int) -> dict[str, Any]:
    return {
        "appeal_id": appeal.id,
        "supporter_id": supporter_id,
        "channel": message.channel,
        "provider": message.provider,
        "provider_message_id": message.message_id,
        "country": message.sender.country,
        "received_at": message.received_at,
        "_index": index,
    }
