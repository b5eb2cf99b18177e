"""The ``campaign`` commands for texts to supporters: the sender, alerts, outcome messages.

``campaign send`` runs the sender (``campaign up`` starts one); ``campaign alert send`` and
``campaign outcome notify`` preview a text, say how many it reaches, ask before queuing it,
and follow its sending with a progress bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from campaign.audit import cli_actor
from campaign.messaging import alerts, outbox, outcome_messages
from campaign.messaging.providers import provider_for
from campaign.messaging.sender import OutboxSender
from campaign.settings import get_settings
from campaign.storage import db
from campaign.supporters.phones import PhoneVault
from cli.common import console, errors, open_engine

alert_app = typer.Typer(help="Alerts: an appeal's text to the subscribers.", no_args_is_help=True)

STALLED = 15.0  # seconds without progress before the command says no sender is running


def add_to(app: typer.Typer, outcome_app: typer.Typer) -> None:
    app.command("send")(send)
    app.add_typer(alert_app, name="alert")
    outcome_app.command("notify")(outcome_notify)


# -- the sender ------------------------------------------------------------------------------------
def send(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Stop when nothing is due within 5 s (cron, tests).")
    ] = False,
    rate: Annotated[float | None, typer.Option(help="Texts per second; default CAMPAIGN_SEND_RATE.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Texts in flight; default CAMPAIGN_SEND_CONCURRENCY.", min=1)
    ] = None,
) -> None:
    """Send the texts due in the outbox through the configured provider, until Ctrl-C."""
    settings = get_settings()
    engine = open_engine()
    vault = PhoneVault(settings.resolved_secret_key())
    db.check_secret_key(engine, vault.fingerprint)
    provider = provider_for(settings)
    sender = OutboxSender(
        engine,
        vault,
        provider,
        yes_words=settings.yes_words,
        rate=settings.send_rate if rate is None else rate,
        concurrency=concurrency or settings.send_concurrency,
        max_attempts=settings.send_max_attempts,
        lease=settings.send_lease,
    )
    pace = sender.limiter.rate
    console.print(
        f"[bold green]sender[/] through {provider.name}, "
        f"{f'{pace:g} texts/s' if pace else 'no rate limit'}  (Ctrl-C stops)"
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await sender.run(stop, until_idle=until_idle)
        finally:
            await provider.aclose()

    asyncio.run(main())
    engine.dispose()
    console.print(f"sender stopped: {sender.totals.line()}")


# -- alerts ----------------------------------------------------------------------------------------
@alert_app.command("send")
def alert_send(
    appeal: Annotated[str, typer.Argument(help="The appeal's slug, e.g. hassan.")],
    country: Annotated[
        list[str] | None, typer.Option(help="Only subscribers of this country (repeatable, or NL,BE).")
    ] = None,
    text: Annotated[str | None, typer.Option(help="The text; default the appeal's SMS text.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking.")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the sending with a progress bar.")] = True,
) -> None:
    """Send an appeal's alert to the subscribers (each gets an appeal's alert once)."""
    engine = open_engine()
    plan = alerts.plan(engine, appeal, country or [], text)
    where = ", ".join(plan.countries) if plan.countries else "all countries"
    console.print(
        Panel(
            plan.body,
            title=f"alert for [bold]{plan.appeal}[/] ({len(plan.body)}/160 characters)",
            subtitle=f"{where}",
            expand=False,
        )
    )
    console.print(
        f"recipients: [bold]{plan.recipients:,}[/] subscribed supporters"
        + (f" ({plan.already:,} already had this alert and are left out)" if plan.already else "")
    )
    if plan.recipients == 0:
        console.print("nobody to send to")
        return
    if not yes and not typer.confirm(f"Send this alert to {plan.recipients:,} supporters?"):
        console.print("not sent")
        raise typer.Exit(1)
    queued = alerts.queue(engine, plan, cli_actor())
    console.print(f"queued {queued.queued:,} texts")
    if wait and queued.queued:
        follow(engine, queued.batch, queued.queued, "alert")


# -- outcome messages ------------------------------------------------------------------------------
def outcome_notify(
    appeal: Annotated[str, typer.Argument(help="The appeal's slug, e.g. hassan.")],
    text: Annotated[str | None, typer.Option(help="The text; default made from the outcome.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking.")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the sending with a progress bar.")] = True,
) -> None:
    """Tell every signer of the appeal (who did not opt out) its latest outcome, once."""
    notify(appeal, text=text, yes=yes, wait=wait)


def notify(appeal: str, *, text: str | None, yes: bool, wait: bool) -> None:
    engine = open_engine()
    plan = outcome_messages.plan(engine, appeal, text)
    console.print(
        Panel(
            plan.body,
            title=f"outcome message for [bold]{plan.appeal}[/]: {plan.outcome} ({len(plan.body)}/160)",
            expand=False,
        )
    )
    console.print(
        f"recipients: [bold]{plan.recipients:,}[/] signers who did not opt out"
        + (f" ({plan.already:,} already had it)" if plan.already else "")
    )
    if plan.recipients == 0:
        console.print("nobody to send to")
        return
    if not yes and not typer.confirm(f"Send this message to {plan.recipients:,} signers?"):
        console.print("not sent")
        raise typer.Exit(1)
    queued = outcome_messages.queue(engine, plan, cli_actor())
    console.print(f"queued {queued.queued:,} texts")
    if wait and queued.queued:
        follow(engine, queued.batch, queued.queued, "outcome message")


def follow(engine: db.Engine, batch: str, total: int, what: str) -> None:
    """A progress bar of a batch until every text is settled (or no sender seems to run)."""
    last_done, last_change = -1, time.monotonic()
    started = time.monotonic()
    with Progress(
        TextColumn(f"sending {what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(what, total=total, detail="")
        while True:
            counts = outbox.batch_progress(engine, batch)
            done = sum(counts[s] for s in ("sent", "delivered", "failed", "cancelled", "unknown"))
            elapsed = max(time.monotonic() - started, 1e-6)
            detail = (
                f"{counts['sent'] + counts['delivered']:,} sent · {counts['failed']:,} failed · "
                f"{counts['cancelled']:,} opted out · "
                + (f"{counts['unknown']:,} in doubt · " if counts["unknown"] else "")
                + f"{done / elapsed:,.0f}/s"
            )
            progress.update(task, completed=done, detail=detail)
            if done >= total:
                break
            if done != last_done:
                last_done, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > STALLED:
                progress.stop()
                errors.print(
                    f"[yellow]no progress for {STALLED:g} s: is a sender running (`campaign send`, or "
                    "`campaign up`)? The rest stays queued and goes when one runs.[/]"
                )
                return
            time.sleep(0.5)
    console.print(f"done: {detail}")
