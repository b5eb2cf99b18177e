"""Exports of exactly what staff filtered, with the filters written into the file.

Two kinds: ``figures`` (signatures per hour, appeal, channel, provider and country, from
the rollups) and ``signatures`` (one row per signature, with no personal data: no number,
no supporter; received at, appeal, campaign, channel, provider, country).  Two formats:

- CSV: a block of ``# name: value`` lines first (what was exported, when, by whom, each
  filter), then the header and the rows, then ``# rows: N`` (a reader can check it got
  everything).  ``csv`` readers skip the block with ``comment``-aware code or
  ``pandas.read_csv(comment="#")``.
- Excel: the rows on a sheet of their own (continued on further sheets beyond Excel's
  1,048,576 rows) and a "Filters" sheet with the same block.

Rows are streamed from the database and written as they come (openpyxl's write-only
mode), so ten million signatures never sit in memory.  Each export is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from campaign import audit, cells
from campaign.errors import BadRequest
from campaign.history.filters import Filters, scope
from campaign.history.rows import FIGURE_COLUMNS, SIGNATURE_COLUMNS, figure_rows, signature_rows
from campaign.storage.models import utcnow

Kind = Literal["figures", "signatures"]
Format = Literal["csv", "xlsx"]
KINDS: tuple[Kind, ...] = ("figures", "signatures")
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
SHEET_ROWS = 1_048_575  # Excel's limit less the header row
TITLES = {"figures": "Signatures per hour", "signatures": "Signatures"}


@dataclass(frozen=True)
class Exported:
    kind: Kind
    format: Format
    rows: int
    metadata: list[tuple[str, str]]


def metadata(kind: Kind, filters: Filters, actor: str, tz: ZoneInfo, at: datetime) -> list[tuple[str, str]]:
    """The block written above the rows: what this file is and exactly which filters made it."""
    return [
        ("export", kind),
        ("exported_at", at.astimezone(tz).isoformat(timespec="seconds")),
        ("exported_by", actor),
        ("time_zone", tz.key),
        *(("filter " + name, value) for name, value in filters.described()),
    ]


def write(
    engine: Engine,
    kind: Kind,
    fmt: Format,
    filters: Filters,
    target: IO[bytes] | Path,
    *,
    actor: str,
    tz: ZoneInfo,
) -> Exported:
    """Write the export to ``target`` (a path or a binary file) and audit it."""
    if kind not in KINDS:
        raise BadRequest(f"export {kind!r} is not one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise BadRequest(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    block = metadata(kind, filters, actor, tz, utcnow())
    with engine.connect() as connection:
        where = scope(connection, filters, tz)
        if kind == "figures":
            columns: Sequence[str] = FIGURE_COLUMNS
            rows = figure_rows(connection, where)
        else:
            columns = SIGNATURE_COLUMNS
            rows = signature_rows(connection, where)
        writer = _write_csv if fmt == "csv" else _write_xlsx
        count = _to(target, lambda handle: writer(handle, block, columns, rows, TITLES[kind]))
    audit.record(
        engine,
        actor,
        "export",
        subject=kind,
        detail={"format": fmt, "filters": filters.as_dict(), "rows": count},
    )
    return Exported(kind, fmt, count, block)


def to_bytes(
    engine: Engine, kind: Kind, fmt: Format, filters: Filters, *, actor: str, tz: ZoneInfo
) -> tuple[bytes, Exported]:
    """The export in memory, for a download button (the page keeps its exports bounded)."""
    buffer = io.BytesIO()
    done = write(engine, kind, fmt, filters, buffer, actor=actor, tz=tz)
    return buffer.getvalue(), done


def file_name(kind: Kind, fmt: Format, filters: Filters) -> str:
    parts = ["campaign", kind, *filters.appeals, *filters.campaigns]
    if filters.start:
        parts.append(f"from-{filters.start.isoformat()}")
    if filters.end:
        parts.append(f"to-{filters.end.isoformat()}")
    return "-".join(parts)[:120] + f".{fmt}"


def _to(target: IO[bytes] | Path, write_into: Callable[[IO[bytes]], int]) -> int:
    if isinstance(target, Path):
        with target.open("wb") as handle:
            return write_into(handle)
    return write_into(target)


Block = list[tuple[str, str]]
Rows = Iterable[Sequence[Any]]


def _write_csv(handle: IO[bytes], block: Block, columns: Sequence[str], rows: Rows, _: str) -> int:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=False)
    try:
        for name, value in block:
            text.write(f"# {name}: {_one_line(value)}\n")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        count = 0
        for row in rows:
            writer.writerow(cells.safe_row(row))
            count += 1
        text.write(f"# rows: {count}\n")
        text.flush()
    finally:
        text.detach()  # the caller owns the binary handle
    return count


def _write_xlsx(handle: IO[bytes], block: Block, columns: Sequence[str], rows: Rows, title: str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    filters = book.create_sheet("Filters")
    bold = Font(bold=True)

    def header(sheet: Any) -> None:
        cells = []
        for name in columns:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    count = 0
    sheets = 1
    sheet = book.create_sheet(title)
    header(sheet)
    in_sheet = 0
    for row in rows:
        if in_sheet == SHEET_ROWS:
            sheets += 1
            sheet = book.create_sheet(f"{title} ({sheets})")
            header(sheet)
            in_sheet = 0
        sheet.append(cells.safe_row(row))
        in_sheet += 1
        count += 1
    for name, value in [*block, ("rows", str(count))]:
        filters.append(cells.safe_row([name, value]))
    book.save(handle)
    return count


def _one_line(value: str) -> str:
    return " ".join(str(value).split())
