"""Scale-out commands: ``campaign worker`` and ``campaign fold-shards``."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from campaign import logs
from campaign.runtime import Runtime
from campaign.settings import get_settings
from campaign.storage import folding
from cli.common import console, open_engine


def add_to(app: typer.Typer) -> None:
    app.command()(worker)
    app.command("fold-shards")(fold_shards)


def worker(
    name: Annotated[str | None, typer.Option(help="Consumer name; default host-pid.")] = None,
) -> None:
    """Run a background worker: takes work from the Redis stream, claims what stalled workers left."""
    from campaign.live.worker import default_name, serve

    settings = get_settings()
    logs.configure(settings)
    runtime = Runtime.open(settings, migrate=False)
    serve(runtime, name or default_name(), settings.work_claim_after)


def fold_shards(
    budget: Annotated[
        int | None, typer.Option(min=1, help="Fold at most this many rows (default: all).")
    ] = None,
) -> None:
    """Fold the counter shards of closed periods and of the tallies back into one row per count."""
    engine = open_engine()
    began = time.monotonic()
    folded = folding.fold(engine, budget=budget)
    for table, rows in folded.items():
        console.print(f"{table}: {rows:,} rows folded")
    with engine.connect() as connection:
        left = sum(folding.rows_beyond_shard_zero(connection).values())
    console.print(f"folded in {time.monotonic() - began:.1f} s; {left:,} rows outside shard 0 left")
