"""Delivering the petition over SMTP to a local aiosmtpd server, and the record of each delivery."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from campaign import audit
from campaign.appeals import deliveries, petition
from campaign.appeals import registry as appeals
from campaign.appeals.deliveries import DeliveryFailed
from campaign.errors import BadRequest, ConfigurationError
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.campaign.appeals.test_petition import PHONES, hashes, import_history
from tests.conftest import free_port
from tests.support.smtp import SENDER, SmtpServer, running_smtp

EMAIL = "minister@justice.example.org"
FAX = "0031701234567@fax.example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def ready(runtime: Runtime, hassan: appeals.AppealSummary, tmp_path: Path) -> None:
    import_history(runtime, tmp_path)
    appeals.edit_appeal(
        runtime.engine, "hassan", target_name="Minister of Justice", target_email=EMAIL, target_fax=FAX
    )


@pytest.mark.usefixtures("ready")
def test_one_message_per_recipient_with_both_documents(runtime: Runtime, smtp: SmtpServer) -> None:
    record = deliveries.deliver(
        runtime.engine, "hassan", smtp.config(), timezone="Europe/Amsterdam", actor="cli:lead"
    )
    assert [r.rcpt_tos for r in smtp.received] == [[EMAIL], [FAX]], "exactly one message per recipient"
    assert {r.mail_from for r in smtp.received} == {"urgent@amnesty.example.org"}
    assert record.status == "sent" and record.error == ""
    assert record.recipients == (EMAIL, FAX) and record.delivered_to == (EMAIL, FAX)
    assert list(record.message_ids) == [str(r.message["Message-ID"]).strip() for r in smtp.received]
    assert record.signatures == 6
    assert record.period_start is not None and record.period_start.isoformat() == "2026-11-29T09:00:00+00:00"
    for received in smtp.received:
        message = received.message
        assert message["From"] == SENDER and message["To"] == received.rcpt_tos[0]
        assert message["Subject"] == "Petition: Stop the torture of Hassan (6 signatures)"
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert text.startswith("Dear Minister of Justice,") and "signed by 6 people from 4 countries" in text
        files = received.attachments()
        (pdf_name,) = [name for name in files if name.endswith(".pdf")]
        (csv_name,) = [name for name in files if name.endswith(".csv")]
        assert pdf_name.startswith("petition-hassan-")
        assert hashlib.sha256(files[pdf_name]).hexdigest() == record.document_sha256
        assert hashlib.sha256(files[csv_name]).hexdigest() == record.csv_sha256
        pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(files[pdf_name])).pages)
        assert "6 people signed this appeal" in pdf_text and "Netherlands 3 50.0%" in pdf_text
        assert petition.read_csv(files[csv_name])["countries"] == {"NL": 3, "BE": 1, "DE": 1, "KE": 1}
        raw = message.as_string()
        for secret in [*hashes(runtime), *(p.lstrip("+") for p in PHONES)]:
            assert secret not in raw
    assert deliveries.history(runtime.engine, "hassan") == [record]
    (entry,) = [e for e in audit.recent(runtime.engine) if e.action == "delivery"]
    assert (entry.actor, entry.subject) == ("cli:lead", "hassan")
    assert entry.detail["document_sha256"] == record.document_sha256 and entry.detail["status"] == "sent"


@pytest.mark.usefixtures("ready")
def test_a_second_delivery_says_how_many_more(runtime: Runtime, smtp: SmtpServer, tmp_path: Path) -> None:
    deliveries.deliver(runtime.engine, "hassan", smtp.config())
    path = tmp_path / "more.csv"
    path.write_text("appeal,phone,signed_at\nhassan,+31612345699,2026-11-30T20:00:00Z\n")
    from campaign.inbound.importer import import_signatures

    import_signatures(runtime.recorder, runtime.vault, path)
    second = deliveries.deliver(runtime.engine, "hassan", smtp.config())
    assert second.signatures == 7
    body = smtp.received[-1].message.get_body(("plain",))
    assert body is not None and "That is 1 more than we delivered to you on" in body.get_content()
    assert [d.signatures for d in deliveries.history(runtime.engine, "hassan")] == [7, 6]
    assert deliveries.latest_by_appeal(runtime.engine)["hassan"].id == second.id


@pytest.mark.usefixtures("ready")
def test_smtp_refused_is_one_clear_line_and_a_failed_delivery(runtime: Runtime) -> None:
    closed = free_port()
    config = deliveries.SmtpConfig("127.0.0.1", closed, "", "", False, SENDER, timeout=5)
    with pytest.raises(DeliveryFailed) as failure:
        deliveries.deliver(runtime.engine, "hassan", config)
    assert failure.value.message == (
        f"delivery of 'hassan' failed: cannot reach the SMTP server 127.0.0.1:{closed} (Connection refused)"
    )
    (record,) = deliveries.history(runtime.engine, "hassan")
    assert record.status == "failed" and record.message_ids == ("", "")
    assert f"{EMAIL}: cannot reach" in record.error and f"{FAX}: cannot reach" in record.error
    assert record.signatures == 6 and len(record.document_sha256) == 64
    assert deliveries.last_delivered(runtime.engine, "hassan") is None
    assert [e.detail["status"] for e in audit.recent(runtime.engine) if e.action == "delivery"] == ["failed"]


@pytest.mark.usefixtures("ready")
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback only
def test_a_wrong_password_is_a_failed_delivery(runtime: Runtime) -> None:
    with running_smtp(user="campaign", password="right") as server:
        with pytest.raises(DeliveryFailed) as failure:
            deliveries.deliver(runtime.engine, "hassan", server.config(password="wrong"))
        assert server.received == []
        assert "refused the login of 'campaign': 535" in failure.value.message
        assert "\n" not in failure.value.message
        assert deliveries.history(runtime.engine)[0].status == "failed"
        record = deliveries.deliver(runtime.engine, "hassan", server.config())  # the right one
        assert record.status == "sent" and len(server.received) == 2


@pytest.mark.usefixtures("ready")
def test_a_refused_recipient_makes_a_partial_delivery(runtime: Runtime, smtp: SmtpServer) -> None:
    smtp.handler.refuse.add(FAX)
    record = deliveries.deliver(runtime.engine, "hassan", smtp.config())
    assert record.status == "partial" and record.delivered_to == (EMAIL,)
    assert record.error == f"{FAX}: refused by the SMTP server: 550 5.1.1 <{FAX}>: mailbox unavailable"
    assert [r.rcpt_tos for r in smtp.received] == [[EMAIL]]


def test_nothing_to_deliver_is_refused_before_sending(
    runtime: Runtime, hassan: appeals.AppealSummary, smtp: SmtpServer, tmp_path: Path
) -> None:
    with pytest.raises(BadRequest, match="has no target address; set one with `campaign appeal edit hassan"):
        deliveries.deliver(runtime.engine, "hassan", smtp.config())
    appeals.edit_appeal(runtime.engine, "hassan", target_email=EMAIL)
    with pytest.raises(BadRequest, match="no signatures to deliver yet"):
        deliveries.deliver(runtime.engine, "hassan", smtp.config())
    assert smtp.received == [] and deliveries.history(runtime.engine) == []


@pytest.mark.usefixtures("ready")
def test_dry_run_writes_the_documents_and_the_messages(runtime: Runtime, tmp_path: Path) -> None:
    made = deliveries.prepare(runtime.engine, "hassan", "UTC")
    written = deliveries.write_dry_run(made, deliveries.messages(made, SENDER), tmp_path / "out")
    assert [p.suffix for p in written] == [".pdf", ".csv", ".eml", ".eml"]
    assert written[0].read_bytes() == made.pdf
    assert f"To: {FAX}" in written[3].read_text()
    assert deliveries.history(runtime.engine) == []


def test_settings_are_needed(settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="CAMPAIGN_SMTP_HOST is not set"):
        deliveries.SmtpConfig.from_settings(settings)
    with pytest.raises(ConfigurationError, match="CAMPAIGN_MAIL_FROM is not set"):
        deliveries.SmtpConfig.from_settings(settings.model_copy(update={"smtp_host": "mail.example.org"}))
    with pytest.raises(ConfigurationError, match=r"CAMPAIGN_MAIL_FROM: .*must be an email address"):
        Settings.load(mail_from="amnesty", _env_file=None)


@pytest.mark.usefixtures("ready")
def test_starttls_asked_of_a_server_without_it(runtime: Runtime, smtp: SmtpServer) -> None:
    with pytest.raises(DeliveryFailed) as failure:
        deliveries.deliver(runtime.engine, "hassan", smtp.config(starttls=True))
    assert failure.value.message == (
        f"delivery of 'hassan' failed: the SMTP server 127.0.0.1:{smtp.port} offers no STARTTLS "
        "(set CAMPAIGN_SMTP_STARTTLS=false only for a server on a trusted network)"
    )
    assert smtp.received == []


@pytest.mark.usefixtures("ready")
def test_an_unknown_smtp_host(runtime: Runtime) -> None:
    config = deliveries.SmtpConfig("mail.invalid", 587, "", "", True, SENDER, timeout=5)
    with pytest.raises(DeliveryFailed, match=r"failed: cannot find the SMTP server 'mail.invalid'"):
        deliveries.deliver(runtime.engine, "hassan", config)


@pytest.mark.usefixtures("ready")
def test_a_delivery_under_way_is_not_sent_twice(runtime: Runtime, smtp: SmtpServer) -> None:
    """A second lead confirming while the first delivery is still sending gets a clear no."""
    from datetime import timedelta

    from sqlalchemy import insert, select, update

    from campaign.storage.models import Appeal, Delivery, utcnow

    with runtime.engine.begin() as connection:
        appeal_id = connection.execute(select(Appeal.id).where(Appeal.slug == "hassan")).scalar_one()
        under_way = connection.execute(
            insert(Delivery)
            .values(
                appeal_id=appeal_id, created_at=utcnow(), actor="dashboard", recipients=[EMAIL],
                message_ids=[], signatures=6, document_sha256="0" * 64, csv_sha256="0" * 64,
                status="sending", error="",
            )
            .returning(Delivery.id)
        ).scalar_one()  # fmt: skip
    with pytest.raises(BadRequest, match="a delivery of 'hassan' is being sent since"):
        deliveries.deliver(runtime.engine, "hassan", smtp.config())
    assert smtp.received == []
    with runtime.engine.begin() as connection:  # cut off by a crash long ago: no longer in the way
        connection.execute(
            update(Delivery)
            .where(Delivery.id == under_way)
            .values(created_at=utcnow() - timedelta(minutes=11))
        )
    assert deliveries.deliver(runtime.engine, "hassan", smtp.config()).status == "sent"
