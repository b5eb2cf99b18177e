"""The write path: the one place that records supporters' actions in the database.

``Recorder.record`` takes a batch of inbound texts and, in one transaction, upserts the
supporters, logs each provider message id once, records signatures (one per supporter
and appeal), applies STOP/START/JOIN, and bumps the tallies.  It returns each message's
outcome and the tally values after the commit, which the live view copies to Redis.

Rows go to each statement as a list (executemany), so SQLAlchemy compiles each statement
once and batches the rows itself.  Statements touch rows in a sorted order so that
concurrent batches on PostgreSQL do not deadlock; duplicates are absorbed by unique
constraints (``ON CONFLICT DO NOTHING``).

A batch of texts is written step by step in ``campaign.inbound.sms_batch``; the statements it
shares with ``record_signatures`` are in ``campaign.inbound.writes``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from campaign.history import rollups
from campaign.inbound import replies
from campaign.inbound.directory import Directory, current_version, load
from campaign.inbound.keywords import Intent
from campaign.inbound.languages import next_language
from campaign.inbound.message import InboundSms, TextResult
from campaign.inbound.sms_batch import SmsBatch
from campaign.inbound.writes import (
    bump_tallies,
    committed_tallies,
    insert_signatures,
    newly_signed,
    signature_increments,
    upsert_supporters,
)
from campaign.live.changes import LiveChanges
from campaign.supporters.phones import Sender


@dataclass
class BatchResult:
    outcomes: list[TextResult]
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
        extra_keywords: dict[str, dict[str, list[str]]] | None = None,
    ):
        self.engine = engine
        self.yes_words = yes_words
        self.extra_keywords = extra_keywords or {}
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
            self._directory = load(connection, self.yes_words, self.extra_keywords)
        return self._directory

    # -- inbound SMS -----------------------------------------------------------------------
    def record(self, messages: Sequence[InboundSms]) -> BatchResult:
        with self.engine.connect() as connection:
            with connection.begin():
                directory = self.directory(connection)
                batch = SmsBatch(
                    connection,
                    messages,
                    directory,
                    default_language=self.default_language,
                    thank_you_delay=self.thank_you_delay,
                )
                outcomes = batch.run()
            # After the commit: figures that include every commit before ours (see shards.committed).
            committed_tallies(connection, directory, batch.tally_names, batch.changes, batch.totals_read)
        return BatchResult(outcomes, batch.changes)

    def offline_outcomes(self, messages: Sequence[InboundSms]) -> list[TextResult]:
        """Answers for texts kept in the spool while the database is away: no counts yet."""
        directory = self._directory
        outcomes = []
        for message in messages:
            if message.part is not None and message.part.total > 1:
                outcomes.append(TextResult(intent=None, spooled=True))
                continue
            reading = directory.book.read(message.text) if directory else None
            appeal = directory.by_slug.get(reading.appeal_slug or "") if directory and reading else None
            if appeal is None and directory is not None:
                featured = directory.featured.get(message.short_code)
                appeal = directory.by_id.get(featured) if featured is not None else None
            # The supporter's stored language is out of reach: the text's, else their country's.
            language = next_language(reading.language if reading else None, None, message.sender.country)
            if reading is not None and reading.intent is Intent.SIGN and appeal is not None:
                reply = replies.received(appeal.words, language)
            else:
                reply = replies.plain(replies.RECEIVED_PLAIN, language or self.default_language)
            intent = reading.intent if reading else Intent.UNKNOWN
            outcomes.append(TextResult(intent, appeal.slug if appeal else None, spooled=True, reply=reply))
        return outcomes

    # -- signatures given elsewhere (imports) ------------------------------------------------
    def record_signatures(self, inputs: Sequence[SignatureInput]) -> tuple[int, LiveChanges]:
        """Record signatures for named appeals; returns how many were new."""
        changes = LiveChanges()
        with self.engine.connect() as connection:
            with connection.begin():
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
                increments = signature_increments(counted)
                bump_tallies(connection, increments)
            committed_tallies(connection, directory, increments, changes)
        return len(counted), changes
