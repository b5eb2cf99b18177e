"""CSV imports under generated files: each bad line reported by number, the rest imported, never a crash.

Files come as people make them: spreadsheets saved as Latin-1 or UTF-16, cut off half-way,
with NUL bytes, ten thousand columns, one enormous cell, formulas and markup in cells.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from campaign.activity import demonstrations
from campaign.appeals import registry as appeals
from campaign.errors import BadRequest
from campaign.inbound import importer
from campaign.runtime import Runtime
from campaign.storage.models import Demonstration, Signature
from tests.fuzz.conftest import FUZZ_FEW, assert_clean_store, mostly, nasty_text, phone_text

SIGNATURE_HEADER = ["appeal", "phone", "signed_at", "channel", "provider"]
DEMONSTRATION_HEADER = [
    "campaign",
    "title",
    "city",
    "country",
    "starts_at",
    "attendance",
    "latitude",
    "links",
]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]


@pytest.fixture
def hassan(fuzz_runtime: Runtime) -> None:
    appeals.add_appeal(fuzz_runtime.engine, slug="hassan", title="Hassan", campaign="torture")


signature_rows = st.lists(
    st.tuples(
        mostly(st.just("hassan"), nasty_text),
        phone_text,
        mostly(
            st.sampled_from(["2008-02-27T20:15:00+01:00", "2008-02-27", "2008-02-27T19:15:00Z"]), nasty_text
        ),
        mostly(st.sampled_from(["sms", "web", "SMS", ""]), nasty_text),
        mostly(st.sampled_from(["kpn", ""]), nasty_text),
    ),
    max_size=12,
)


def write(path: Path, header: list[str], rows: list[tuple[str, ...]], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding, errors="replace")
    path.write_bytes(data)
    return data


def count(runtime: Runtime, model: type) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


@FUZZ_FEW
@given(rows=signature_rows, encoding=st.sampled_from(ENCODINGS), cut=st.none() | st.integers(0, 2000))
def test_signature_import(
    fuzz_runtime: Runtime,
    hassan: None,
    tmp_path: Path,
    rows: list[tuple[str, ...]],
    encoding: str,
    cut: int | None,
) -> None:
    path = tmp_path / "signatures.csv"
    data = write(path, SIGNATURE_HEADER, rows, encoding)
    if cut is not None:  # a file cut off on its way
        path.write_bytes(data[:cut])
    before = count(fuzz_runtime, Signature)
    try:
        report = importer.import_signatures(fuzz_runtime.recorder, fuzz_runtime.vault, path)
    except BadRequest as error:  # only for a header it cannot use, and it says so
        assert error.message.startswith("line 1:")
        event("header refused")
        return
    event(f"{report.imported} imported, {len(report.errors)} reported")
    assert count(fuzz_runtime, Signature) - before == report.imported
    assert report.imported + report.already_there + len(report.errors) >= report.lines
    for line, reason in report.errors:
        assert line >= 2 and reason and "\n" not in reason
    assert_clean_store(fuzz_runtime.engine)


@FUZZ_FEW
@given(raw=st.binary(max_size=4000))
def test_signature_import_of_any_bytes(
    fuzz_runtime: Runtime, hassan: None, tmp_path: Path, raw: bytes
) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(b"appeal,phone,signed_at\n" + raw)
    report = importer.import_signatures(fuzz_runtime.recorder, fuzz_runtime.vault, path)
    assert all(line >= 2 for line, _ in report.errors)
    assert_clean_store(fuzz_runtime.engine)


demonstration_rows = st.lists(
    st.tuples(
        mostly(st.just("torture"), nasty_text),
        nasty_text,
        mostly(st.sampled_from(["Nairobi", "Amsterdam"]), nasty_text),
        mostly(st.sampled_from(["KE", "Netherlands"]), nasty_text),
        mostly(st.sampled_from(["2008-03-01T14:00:00+03:00", "2008-03-01 14:00"]), nasty_text),
        mostly(st.sampled_from(["", "800", "1,200"]), nasty_text),
        mostly(st.sampled_from(["", "-1.28"]), nasty_text),
        mostly(st.sampled_from(["", "https://example.org/a https://example.org/b"]), nasty_text),
    ),
    max_size=6,
)


@FUZZ_FEW
@given(rows=demonstration_rows, encoding=st.sampled_from(ENCODINGS))
def test_demonstration_import(
    fuzz_runtime: Runtime, hassan: None, tmp_path: Path, rows: list[tuple[str, ...]], encoding: str
) -> None:
    path = tmp_path / "demonstrations.csv"
    write(path, DEMONSTRATION_HEADER, rows, encoding)
    before = count(fuzz_runtime, Demonstration)
    try:
        report = demonstrations.import_csv(fuzz_runtime.engine, path)
    except BadRequest as error:
        assert error.message.startswith("line 1:")
        event("header refused")
        return
    event(f"{report.saved} saved, {len(report.errors)} reported")
    assert count(fuzz_runtime, Demonstration) - before <= report.saved
    assert report.saved + len(report.errors) >= report.rows
    assert_clean_store(fuzz_runtime.engine)


ODD_SIGNATURE_FILES = [
    b"appeal,phone,signed_at,provider\nhassan,+31612345678,2008-02-27,kpn\x00x\n",
    b"appeal,phone,signed_at\n" + b"hassan,+31612345678," + b"9" * 200_000 + b"\n",
    b"appeal,phone,signed_at" + b",x" * 10_000 + b"\nhassan,+31612345678,2008-02-27\n",
    "appeal,phone,signed_at\nhassan,+31612345678,2008-02-27\n".encode("utf-16"),
    b'appeal,phone,signed_at\nhassan,+31612345678,2008-02-27\n"unterminated',
]


def test_signature_import_regressions(fuzz_runtime: Runtime, hassan: None, tmp_path: Path) -> None:
    for content in ODD_SIGNATURE_FILES:
        path = tmp_path / "odd.csv"
        path.write_bytes(content)
        try:
            report = importer.import_signatures(fuzz_runtime.recorder, fuzz_runtime.vault, path)
        except BadRequest as error:
            assert error.message.startswith("line 1:")
            continue
        assert report.errors or report.imported
        assert_clean_store(fuzz_runtime.engine)


ODD_DEMONSTRATION_ROWS = [
    "torture,Vigil,Nairobi,KE,2008-03-01T14:00:00+03:00,,,https://example.org/\x00a",
    "torture,Vi\x00gil,Nairobi,KE,2008-03-01T14:00:00+03:00,,,",
    "torture,Vigil,Nairobi,KE,2008-03-01T14:00:00+03:00,99999999999999999999999,,",
    "torture,Vigil,Nairobi,KE,2008-03-01T14:00:00+03:00,,nan,",
    "torture,Vigil,Nairobi,KE,0001-01-01T00:00:00+14:00,,,",
]


def test_demonstration_import_regressions(fuzz_runtime: Runtime, hassan: None, tmp_path: Path) -> None:
    for row in ODD_DEMONSTRATION_ROWS:
        path = tmp_path / "odd.csv"
        path.write_text(",".join(DEMONSTRATION_HEADER) + "\n" + row + "\n", encoding="utf-8")
        report = demonstrations.import_csv(fuzz_runtime.engine, path)
        assert report.saved + len(report.errors) == 1, row  # saved, or reported by its line
    assert_clean_store(fuzz_runtime.engine)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1"])
def test_a_header_in_another_encoding_is_line_1(fuzz_runtime: Runtime, tmp_path: Path, encoding: str) -> None:
    """A UTF-16 demonstrations file ended in a UnicodeDecodeError traceback, not a line-1 message."""
    path = tmp_path / "other.csv"
    path.write_bytes(",".join([*DEMONSTRATION_HEADER, "Café"]).encode(encoding) + b"\n")
    with pytest.raises(BadRequest, match=r"^line 1: "):
        demonstrations.import_csv(fuzz_runtime.engine, path)
    path.write_bytes(",".join([*SIGNATURE_HEADER, "Café"]).encode(encoding) + b"\n")
    with pytest.raises(BadRequest, match=r"^line 1: "):
        importer.import_signatures(fuzz_runtime.recorder, fuzz_runtime.vault, path)


def test_a_bad_line_is_reported_and_the_rest_still_imported(
    fuzz_runtime: Runtime, hassan: None, tmp_path: Path
) -> None:
    """A NUL byte or a Latin-1 line used to end the import there ("nothing after this line was read")."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"appeal,phone,signed_at\n"
        b"hassan,+31612345601,2008-02-27\n"
        b"hassan,+31612345602,2008-02-27,caf\xe9\n"
        b"hassan,+31612345603,2008-\x0002-27\n"
        b"hassan,+31612345604,2008-02-27\n"
    )
    report = importer.import_signatures(fuzz_runtime.recorder, fuzz_runtime.vault, path)
    assert report.imported == 2
    assert [line for line, _ in report.errors] == [3, 4]
    assert "not UTF-8" in report.errors[0][1] and "NUL" in report.errors[1][1]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "0001-01-01T05:00:00+10:00"])
def test_a_time_before_year_1_in_utc_is_a_reported_line(
    fuzz_runtime: Runtime, hassan: None, tmp_path: Path, moment: str
) -> None:
    """It was an OverflowError traceback in both imports."""
    path = tmp_path / "early.csv"
    path.write_text(f"appeal,phone,signed_at\nhassan,+31612345678,{moment}\n", encoding="utf-8")
    report = importer.import_signatures(fuzz_runtime.recorder, fuzz_runtime.vault, path)
    assert report.errors == [(2, f"signed_at {moment!r} is out of range")]
    path.write_text(
        ",".join(DEMONSTRATION_HEADER) + f"\ntorture,Vigil,Nairobi,KE,{moment},,,\n", encoding="utf-8"
    )
    assert demonstrations.import_csv(fuzz_runtime.engine, path).errors == [(2, "starts_at is out of range")]
