"""``campaign deliver``: the petition of an appeal to its target authority, by email and fax.

Shows what would go out (figures, recipients, the document's SHA-256), asks before it
sends (``--yes`` does not ask), or writes everything to a folder with ``--dry-run``;
``--list`` shows the deliveries made.  An SMTP failure is one line, and recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from campaign import audit
from campaign.appeals import deliveries
from campaign.appeals.petition import Petition
from campaign.errors import BadRequest
from campaign.settings import Settings, get_settings
from campaign.storage import db
from cli.common import console, errors

DRY_RUN_SENDER = "campaign@localhost"


def add_to(app: typer.Typer) -> None:
    app.command("deliver")(deliver)


def deliver(
    appeal: Annotated[str | None, typer.Argument(help="The appeal's slug, e.g. hassan.")] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Write the PDF, the CSV and the messages to --out; send nothing."),
    ] = False,
    out: Annotated[Path, typer.Option(help="Folder for --dry-run.")] = Path("petitions"),
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking.")] = False,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the deliveries made (of the appeal, or of all).")
    ] = False,
) -> None:
    """Deliver an appeal's petition (PDF and CSV) to its target authority by email and fax."""
    settings = get_settings()
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    if list_only:
        _list(engine, appeal, settings)
        return
    if appeal is None:
        raise BadRequest("name the appeal, e.g. `campaign deliver hassan` (or `campaign deliver --list`)")
    petition = deliveries.prepare(engine, appeal, settings.timezone)
    _preview(petition, deliveries.last_delivered(engine, appeal), settings)
    if dry_run:
        sender = settings.mail_from or DRY_RUN_SENDER
        if not settings.mail_from:
            errors.print(f"[yellow]CAMPAIGN_MAIL_FROM is not set; the messages show {sender}[/]")
        previous = deliveries.last_delivered(engine, appeal)
        written = deliveries.write_dry_run(petition, deliveries.messages(petition, sender, previous), out)
        audit.record(
            engine,
            audit.cli_actor(),
            "export",
            appeal,
            {"what": "petition (dry run)", "document_sha256": petition.pdf_sha256},
        )
        for path in written:
            console.print(f"wrote {path}", highlight=False)
        console.print("dry run: nothing was sent")
        return
    config = deliveries.SmtpConfig.from_settings(settings)
    addresses = ", ".join(petition.figures.target.addresses)
    if not yes:
        typer.confirm(f"Send {petition.figures.total:,} signatures to {addresses}?", abort=True)
    record = deliveries.deliver(
        engine,
        appeal,
        config,
        timezone=settings.timezone,
        actor=audit.cli_actor(),
        petition=petition,
    )
    for recipient, message_id in zip(record.recipients, record.message_ids, strict=False):
        console.print(f"  {recipient}: {message_id or 'not sent'}", highlight=False)
    if record.status == "partial":
        errors.print(f"[yellow]delivered to some recipients only: {record.error}[/]", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"delivered {record.signatures:,} signatures for [bold]{appeal}[/] to {addresses} "
        f"(delivery {record.id})",
        highlight=False,
    )


def _preview(petition: Petition, previous: deliveries.DeliveryRecord | None, settings: Settings) -> None:
    f = petition.figures
    console.print(f"[bold]{f.title}[/] ({f.slug})", highlight=False)
    console.print(f"  to:          {f.target.name or '(no name)'}", highlight=False)
    if f.target.email:
        console.print(f"  email:       {f.target.email}", highlight=False)
    if f.target.fax:
        console.print(f"  fax gateway: {f.target.fax}", highlight=False)
    console.print(f"  signatures:  {f.total:,}, {f.period()} ({f.timezone})", highlight=False)
    top = ", ".join(f"{c.name} {c.signatures:,}" for c in f.countries[:5])
    more = f" and {len(f.countries) - 5} more" if len(f.countries) > 5 else ""
    console.print(f"  countries:   {top}{more}", highlight=False)
    console.print(f"  days:        {len(f.days)}", highlight=False)
    console.print(f"  PDF SHA-256: {petition.pdf_sha256}", highlight=False)
    if previous is not None:
        when = previous.created_at.astimezone(settings.tz)
        console.print(
            f"  last delivered: {previous.signatures:,} signatures on {when:%Y-%m-%d %H:%M}", highlight=False
        )


def _list(engine: Engine, appeal: str | None, settings: Settings) -> None:
    table = Table("id", "appeal", "time", "status", "signatures", "period", "recipients")
    problems = []
    for record in deliveries.history(engine, appeal):
        start, end = (
            f"{moment.astimezone(settings.tz):%Y-%m-%d}" if moment else ""
            for moment in (record.period_start, record.period_end)
        )
        table.add_row(
            str(record.id),
            record.appeal,
            f"{record.created_at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
            record.status,
            f"{record.signatures:,}",
            f"{start}\nto {end}" if start != end else start,
            "\n".join(record.recipients),
        )
        if record.error:
            problems.append(f"delivery {record.id} ({record.status}): {record.error}")
    console.print(table)
    for line in problems:
        console.print(line, highlight=False, soft_wrap=True)
