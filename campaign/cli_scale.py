"""Scale-out commands: ``campaign worker``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from campaign.runtime import Runtime
from campaign.settings import get_settings


def add_to(app: typer.Typer) -> None:
    app.command()(worker)


def worker(
    name: Annotated[str | None, typer.Option(help="Consumer name; default host-pid.")] = None,
) -> None:
    """Run a background worker: takes work from the Redis stream, claims what stalled workers left."""
    from campaign import worker as work

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = get_settings()
    runtime = Runtime.open(settings, migrate=False)
    work.serve(runtime, name or work.default_name(), settings.work_claim_after)
