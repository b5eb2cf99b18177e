"""The ``campaign`` commands for history: rebuilding the rollups and exporting.

``campaign rollup rebuild`` recomputes the History page's counts from the raw rows;
``campaign export signatures|figures`` writes exactly what the filters select, with the
filters in the file, streamed (a three-year export never sits in memory).  Neither needs
Redis: they open the database only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from campaign import audit
from campaign.errors import BadRequest
from campaign.history import exports, rollups
from campaign.history.filters import Filters
from campaign.settings import get_settings
from cli.common import console, errors, open_engine, parse_day

rollup_app = typer.Typer(help="The History page's counts (rollups).", no_args_is_help=True)
export_app = typer.Typer(help="Export filtered history as CSV or Excel.", no_args_is_help=True)


def add_to(app: typer.Typer) -> None:
    app.add_typer(rollup_app, name="rollup")
    app.add_typer(export_app, name="export")


@rollup_app.command("rebuild")
def rollup_rebuild() -> None:
    """Recompute every rollup from the raw tables, in one transaction."""
    began = time.monotonic()
    counts = rollups.rebuild(open_engine())
    for table, rows in counts.items():
        console.print(f"{table}: {rows:,} rows")
    console.print(f"rebuilt in {time.monotonic() - began:.1f} s")


def _many(values: list[str] | None, upper: bool = False) -> tuple[str, ...]:
    out: list[str] = []
    for value in values or []:
        for part in value.split(","):
            item = part.strip().upper() if upper else part.strip().lower()
            if item and item not in out:
                out.append(item)
    return tuple(out)


Many = Annotated[list[str] | None, typer.Option(help="One value, a comma list, or the option repeated.")]
OutcomeOption = Annotated[
    str | None, typer.Option(help="good, bad, none, or an outcome such as released or no-change.")
]


def _export(
    kind: exports.Kind,
    appeal: list[str] | None,
    campaign: list[str] | None,
    start: str | None,
    end: str | None,
    channel: list[str] | None,
    provider: list[str] | None,
    country: list[str] | None,
    outcome: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    fmt = fmt.lower()
    if fmt not in exports.FORMATS:
        raise BadRequest(f"--format {fmt!r} is not one of {', '.join(exports.FORMATS)}")
    filters = Filters(
        start=parse_day(start, "from"),
        end=parse_day(end, "to"),
        campaigns=_many(campaign),
        appeals=_many(appeal),
        channels=_many(channel),
        providers=_many(provider),
        countries=_many(country, upper=True),
        outcome=outcome.strip().lower() if outcome else None,
    )
    settings = get_settings()
    engine = open_engine()
    actor = audit.cli_actor()
    began = time.monotonic()
    if output is None:
        if fmt == "xlsx" and sys.stdout.isatty():
            raise BadRequest("an Excel file cannot go to a terminal; give --output FILE")
        done = exports.write(engine, kind, fmt, filters, sys.stdout.buffer, actor=actor, tz=settings.tz)
        sys.stdout.buffer.flush()
        where = "standard output"
    else:
        try:
            done = exports.write(engine, kind, fmt, filters, output, actor=actor, tz=settings.tz)
        except OSError as error:
            raise BadRequest(f"{output}: {error.strerror}") from None
        where = str(output)
    errors.print(f"{done.rows:,} rows to {where} in {time.monotonic() - began:.1f} s", highlight=False)


@export_app.command("signatures")
def export_signatures(
    appeal: Many = None,
    campaign: Many = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (local), e.g. 2008-01-01.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (local), inclusive.")] = None,
    channel: Many = None,
    provider: Many = None,
    country: Many = None,
    outcome: OutcomeOption = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="File to write (default: standard output).")] = None,
) -> None:
    """One row per signature, without personal data, with the filters written into the file."""
    _export("signatures", appeal, campaign, start, end, channel, provider, country, outcome, fmt, output)


@export_app.command("figures")
def export_figures(
    appeal: Many = None,
    campaign: Many = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (local), e.g. 2008-01-01.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (local), inclusive.")] = None,
    channel: Many = None,
    provider: Many = None,
    country: Many = None,
    outcome: OutcomeOption = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="File to write (default: standard output).")] = None,
) -> None:
    """Signatures per hour, appeal, channel, provider and country, with the filters in the file."""
    _export("figures", appeal, campaign, start, end, channel, provider, country, outcome, fmt, output)
