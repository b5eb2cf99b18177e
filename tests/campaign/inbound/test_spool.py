"""The durable spool: files joined into few transactions, each removed only after its commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from campaign.inbound.message import InboundSms
from campaign.inbound.spool import Spool
from campaign.runtime import Runtime
from campaign.storage.db import refused
from campaign.storage.models import Signature
from tests.campaign.inbound.test_recorder import NUMBERS, sms


def spool_of(runtime: Runtime, tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool", runtime.vault)


def signatures(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Signature)) or 0)


@pytest.mark.usefixtures("hassan")
def test_small_files_are_written_in_few_transactions(runtime: Runtime, tmp_path: Path) -> None:
    spool = spool_of(runtime, tmp_path)
    for number in NUMBERS[:10]:  # an outage: one file per webhook batch
        spool.append([sms(runtime, number, "JA")])
    batches: list[int] = []

    def record(messages: list[InboundSms]) -> None:
        batches.append(len(messages))
        runtime.recorder.record(messages)

    assert spool.drain(record, batch=4) == 10
    assert batches == [4, 4, 2]
    assert spool.pending() == [] and signatures(runtime) == 10


@pytest.mark.usefixtures("hassan")
def test_a_limit_leaves_the_rest_for_the_next_call(runtime: Runtime, tmp_path: Path) -> None:
    spool = spool_of(runtime, tmp_path)
    for number in NUMBERS[:7]:
        spool.append([sms(runtime, number, "JA")])
    assert spool.drain(runtime.recorder.record, batch=3, limit=3) == 3
    assert len(spool.pending()) == 4 and signatures(runtime) == 3
    assert spool.drain(runtime.recorder.record, batch=3, limit=3) == 3
    assert spool.drain(runtime.recorder.record, batch=3, limit=3) == 1
    assert spool.pending() == [] and signatures(runtime) == 7


@pytest.mark.usefixtures("hassan")
def test_a_failed_transaction_keeps_its_files_and_replays_once(runtime: Runtime, tmp_path: Path) -> None:
    spool = spool_of(runtime, tmp_path)
    texts = [sms(runtime, number, "JA") for number in NUMBERS[:6]]
    for text in texts:
        spool.append([text])
    spool.append([texts[0]])  # a sender's retry, spooled again
    calls = 0

    def record_then_fail(messages: list[InboundSms]) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away again")
        runtime.recorder.record(messages)

    with pytest.raises(ConnectionError):
        spool.drain(record_then_fail, batch=3)
    assert len(spool.pending()) == 4  # the first transaction's three files are gone, the rest wait
    assert spool.drain(runtime.recorder.record, batch=3) == 4
    assert spool.pending() == [] and signatures(runtime) == 6


def test_an_unreadable_file_is_set_aside_and_the_rest_drain(runtime: Runtime, tmp_path: Path) -> None:
    spool = spool_of(runtime, tmp_path)
    spool.append([sms(runtime, NUMBERS[0], "HELLO")])
    damaged = spool.append([sms(runtime, NUMBERS[1], "HELLO")])
    damaged.write_bytes(b"not a token\n")
    spool.append([sms(runtime, NUMBERS[2], "HELLO")])
    recorded: list[int] = []
    assert spool.drain(lambda messages: recorded.append(len(messages))) == 2
    assert recorded == [2] and spool.pending() == []
    assert damaged.with_suffix(".unreadable").exists()


@pytest.mark.usefixtures("hassan")
def test_a_text_the_database_refuses_is_set_aside_alone(
    runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One refused text does not hold back the spool: its neighbours are written, it waits aside."""
    spool = spool_of(runtime, tmp_path)
    for i, number in enumerate(NUMBERS[:5]):
        spool.append([sms(runtime, number, "JA", message_id="SMpoison" if i == 2 else None)])
    poison = spool.pending()[2]

    def record(messages: list[InboundSms]) -> None:
        if any(m.message_id == "SMpoison" for m in messages):
            cause = sqlite3.IntegrityError("CHECK constraint failed: +31612340002")
            raise IntegrityError("INSERT INTO signatures ...", None, cause)
        runtime.recorder.record(messages)

    assert spool.drain(record, batch=10, refused=refused) == 4
    assert spool.pending() == [] and signatures(runtime) == 4
    assert spool.set_aside() == [poison.with_suffix(".refused")]
    assert "set aside as" in caplog.text and "IntegrityError" in caplog.text
    assert "+3161234" not in caplog.text, "the database's message may quote personal data"
    # Renamed back once the cause is mended, it is tried again.
    poison.with_suffix(".refused").rename(poison)
    assert spool.drain(runtime.recorder.record, refused=refused) == 1
    assert signatures(runtime) == 5


def test_the_database_away_stops_the_drain_and_keeps_every_file(runtime: Runtime, tmp_path: Path) -> None:
    spool = spool_of(runtime, tmp_path)
    for number in NUMBERS[:3]:
        spool.append([sms(runtime, number, "HELLO")])

    def away(messages: list[InboundSms]) -> None:
        raise OperationalError("SELECT 1", None, ConnectionError("connection refused"))

    with pytest.raises(OperationalError):
        spool.drain(away, refused=refused)
    assert len(spool.pending()) == 3 and spool.set_aside() == []
