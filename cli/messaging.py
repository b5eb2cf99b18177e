"""The ``campaign`` commands for texts to supporters: the sender, alerts, outcome messages.

``campaign send`` runs the sender (``campaign up`` starts one); ``campaign alert send`` and
``campaign outcome notify`` preview a text and its translations (encoding, characters and
SMS segments of each, recipients per language, total segments), ask before queuing it (or,
with ``--dry-run``, queue nothing), and follow its sending with a progress bar.
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
from rich.table import Table
from rich.text import Text

from campaign.audit import cli_actor
from campaign.messaging import alerts, bulk, outbox, outcome_messages
from campaign.messaging.providers import provider_for
from campaign.messaging.segments import forcing_text
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
TRANSLATION_HELP = 'A translation, LANG="text" (ISO 639-1, e.g. fr="..."); repeatable.'
DRY_RUN_HELP = "Print the preview (languages, recipients, segments) and queue nothing."


def translations_from(items: list[str] | None) -> dict[str, str]:
    """``--translation fr="Libérez Hassan"`` options as language -> text; each code checked."""
    return bulk.parse_translations(items or [], '--translation LANG="text"')


def preview(text: bulk.BulkText, title: str, subtitle: str = "") -> None:
    """The texts and, per language, encoding, characters, segments and recipients."""
    limit = get_settings().alert_max_segments
    for version in text.versions:
        heading = f"{title}, {version.label}" if len(text.versions) > 1 else title
        # Text(): the lead's "[" and "]" are characters, not console markup
        console.print(Panel(Text(version.body), title=heading, subtitle=subtitle, expand=False))
    table = Table(box=None, pad_edge=False)
    for column in ("text", "encoding", "characters", "segments/text", "recipients", "segments"):
        table.add_column(column, justify="left" if column in ("text", "encoding") else "right")
    for version in text.versions:
        found = version.measure
        table.add_row(
            version.label,
            found.encoding,
            f"{found.characters}",
            f"{found.segments}/{limit}",
            f"{version.recipients:,}",
            f"{version.segments:,}",
        )
    table.add_row("total", "", "", "", f"{text.recipients:,}", f"{text.segments:,}", style="bold")
    console.print(table)
    for version in text.versions:
        if version.measure.forcing:
            console.print(
                f"[yellow]{version.label}: UCS-2 (70 characters a segment) because of "
                f"{forcing_text(version.measure.forcing)}[/]",
                highlight=False,
            )
    known = ", ".join(
        f"{code or 'unknown'} {n:,}" for code, n in sorted(text.by_language.items(), key=lambda kv: -kv[1])
    )
    if known:
        console.print(f"recipients by their language: {known}", highlight=False)


@alert_app.command("send")
def alert_send(
    appeal: Annotated[str, typer.Argument(help="The appeal's slug, e.g. hassan.")],
    country: Annotated[
        list[str] | None, typer.Option(help="Only subscribers of this country (repeatable, or NL,BE).")
    ] = None,
    text: Annotated[str | None, typer.Option(help="The text; default the appeal's SMS text.")] = None,
    translation: Annotated[list[str] | None, typer.Option(help=TRANSLATION_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking.")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the sending with a progress bar.")] = True,
) -> None:
    """Send an appeal's alert to the subscribers (each gets an appeal's alert once), each in their
    language when a translation is given."""
    translations = translations_from(translation)
    engine = open_engine()
    plan = alerts.plan(engine, appeal, country or [], text, translations, get_settings().alert_max_segments)
    where = ", ".join(plan.countries) if plan.countries else "all countries"
    preview(plan.text, f"alert for [bold]{plan.appeal}[/]", where)
    console.print(
        f"recipients: [bold]{plan.recipients:,}[/] subscribed supporters"
        + (f" ({plan.already:,} already had this alert and are left out)" if plan.already else "")
    )
    if dry_run:
        console.print("dry run: nothing queued")
        return
    if plan.recipients == 0:
        console.print("nobody to send to")
        return
    if not yes and not typer.confirm(
        f"Send this alert to {plan.recipients:,} supporters ({plan.text.segments:,} segments)?"
    ):
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
    translation: Annotated[list[str] | None, typer.Option(help=TRANSLATION_HELP)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=DRY_RUN_HELP)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking.")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the sending with a progress bar.")] = True,
) -> None:
    """Tell every signer of the appeal (who did not opt out) its latest outcome, once, each in
    their language when there is a version in it."""
    notify(
        appeal, text=text, yes=yes, wait=wait, translations=translations_from(translation), dry_run=dry_run
    )


def notify(
    appeal: str,
    *,
    text: str | None,
    yes: bool,
    wait: bool,
    translations: dict[str, str] | None = None,
    dry_run: bool = False,
) -> None:
    engine = open_engine()
    plan = outcome_messages.plan(engine, appeal, text, translations, get_settings().alert_max_segments)
    preview(plan.text, f"outcome message for [bold]{plan.appeal}[/]: {plan.outcome}")
    console.print(
        f"recipients: [bold]{plan.recipients:,}[/] signers who did not opt out"
        + (f" ({plan.already:,} already had it)" if plan.already else "")
    )
    if dry_run:
        console.print("dry run: nothing queued")
        return
    if plan.recipients == 0:
        console.print("nobody to send to")
        return
    if not yes and not typer.confirm(
        f"Send this message to {plan.recipients:,} signers ({plan.text.segments:,} segments)?"
    ):
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
