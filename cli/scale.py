"""Scale-out commands: ``campaign worker``."""

from __future__ import annotations

from typing import Annotated

import typer

from campaign import logs
from campaign.runtime import Runtime
from campaign.settings import get_settings


def add_to(app: typer.Typer) -> None:
    app.command()(worker)


def worker(
    name: Annotated[str | None, typer.Option(help="Consumer name; default host-pid.")] = None,
) -> None:
    """Run a background worker: takes work from the Redis stream, claims what stalled workers left."""
    from campaign.live.worker import default_name, serve

    settings = get_settings()
    logs.configure(settings)
    runtime = Runtime.open(settings, migrate=False)
    serve(runtime, name or default_name(), settings.work_claim_after)
