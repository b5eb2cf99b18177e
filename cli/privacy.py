"""The ``campaign`` commands for supporters' privacy: forget, export, retention, key rotation.

Added to ``cli.main`` with ``add_to``.  Numbers typed here are read in any format
phonenumbers understands; they are never printed back in full (only masked), except in
a person's own subject-access export.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from campaign import audit
from campaign.errors import BadRequest, CampaignError
from campaign.inbound.spool import Spool
from campaign.runtime import Runtime
from campaign.settings import get_settings
from campaign.supporters import keys, privacy
from campaign.supporters.phones import InvalidNumber
from cli.common import console, errors, open_runtime

supporter_app = typer.Typer(help="One supporter's data: erasure and subject access.", no_args_is_help=True)
retention_app = typer.Typer(help="Erase the numbers of long-inactive supporters.", no_args_is_help=True)
keys_app = typer.Typer(help="The keys that encrypt supporters' numbers.", no_args_is_help=True)


Number = Annotated[
    str, typer.Argument(help="The number, e.g. +31612345678 (any format with its country code).")
]
Region = Annotated[
    str | None, typer.Option(help="Country for a number given without its country code, e.g. NL.")
]


def add_to(app: typer.Typer) -> None:
    app.add_typer(supporter_app, name="supporter")
    app.add_typer(retention_app, name="retention")
    app.add_typer(keys_app, name="keys")


def _find(rt: Runtime, number: str, region: str | None) -> privacy.Subject:
    try:
        return privacy.find(rt.engine, rt.vault, number, region)
    except InvalidNumber as error:
        reason = error.message.replace("the sender's number", "the number")
        hint = "" if region else "; give it with its country code (+31...) or pass --region"
        raise BadRequest(f"{reason}{hint}") from None


# -- supporter ------------------------------------------------------------------------------------
@supporter_app.command("forget")
def supporter_forget(
    number: Number,
    region: Region = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person's number and every link to it; their signatures stay counted, anonymously."""
    rt = open_runtime()
    found = _find(rt, number, region)
    if not yes and not typer.confirm(
        f"Erase supporter {found.supporter_id} ({found.masked}) for good? Their signatures stay "
        "counted, anonymously; this cannot be undone",
        default=False,
        err=True,
    ):
        raise CampaignError("nothing erased")
    with rt.engine.connect() as connection:
        subjects = privacy.subjects_of(connection, rt.vault, [found.supporter_id])
    report = privacy.erase(
        rt.engine,
        subjects,
        live=rt.live,
        spool=Spool(rt.settings.spool_dir, rt.vault),
        actor=audit.cli_actor(),
        reason="request",
    )
    console.print(f"erased {found.masked}: {report.line()}", highlight=False)
    if report.live_error:
        errors.print(
            "[yellow]Redis not reachable: its ticker may still show the masked number until the "
            "entries scroll away or `campaign reconcile` runs after clearing it[/]"
        )
        raise typer.Exit(1)


@supporter_app.command("export")
def supporter_export(
    number: Number,
    region: Region = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON to this file (default: print it).")
    ] = None,
) -> None:
    """A person's own data as JSON (subject access): number, status, signatures, messages."""
    rt = open_runtime()
    found = _find(rt, number, region)
    data = privacy.export(rt.engine, rt.vault, number, actor=audit.cli_actor(), region=region)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise CampaignError(f"{output}: {error.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    errors.print(f"exported the data of {found.masked} to {output}", highlight=False)


# -- retention ------------------------------------------------------------------------------------
@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count who would be erased.")] = False,
    months: Annotated[
        int | None, typer.Option(min=1, help="Months of inactivity; default CAMPAIGN_RETENTION_MONTHS.")
    ] = None,
    every: Annotated[
        float | None, typer.Option(min=60, help="Run again every this many seconds, until stopped.")
    ] = None,
) -> None:
    """Erase the numbers of supporters with no signature or text for N months; counts stay."""
    settings = get_settings()
    months = months or settings.retention_months
    if not months:
        console.print("retention is off (CAMPAIGN_RETENTION_MONTHS is empty or 0); nothing erased")
        return
    rt = open_runtime()
    spool = Spool(settings.spool_dir, rt.vault)
    while True:
        report = privacy.run_retention(
            rt.engine, rt.vault, months, live=rt.live, spool=spool, actor=audit.cli_actor(), dry_run=dry_run
        )
        since = report.cutoff.date().isoformat()
        if dry_run:
            console.print(f"{report.due} supporter(s) inactive since {since} would be erased (dry run)")
        else:
            console.print(f"inactive since {since}: {report.erasure.line()}")
        if every is None:
            return
        time.sleep(every)


# -- keys -----------------------------------------------------------------------------------------
@keys_app.command("rotate")
def keys_rotate(
    new_key: Annotated[
        str | None, typer.Option(help="The new Fernet key (default: a random one is made).")
    ] = None,
    abandon: Annotated[
        bool, typer.Option("--abandon", help="Give up a rotation whose new key was never set.")
    ] = False,
) -> None:
    """Re-encrypt every number under a new key; run it again to resume if interrupted."""
    settings = get_settings()
    rt = open_runtime()
    if abandon:
        given_up = keys.abandon(rt.engine, rt.vault)
        audit.record(rt.engine, audit.cli_actor(), "keys.abandon", f"key:{given_up}", {})
        console.print(
            f"rotation to key {given_up} abandoned; numbers stay under key {rt.vault.current_key_fingerprint}"
        )
        return
    ring, waiting = keys.begin(settings, rt.engine, new_key)
    if waiting is not None:
        for line in waiting.instructions:
            console.print(line, highlight=False, soft_wrap=True)
        if waiting.begun:
            audit.record(
                rt.engine, audit.cli_actor(), "keys.rotate", f"key:{ring.fingerprints[0]}", {"step": "begin"}
            )
            return
        raise typer.Exit(1)
    rt.close()
    rt = open_runtime()  # with the new keyring
    spool = Spool(settings.spool_dir, rt.vault)
    rewritten = keys.rekey_spool(spool, rt.vault)
    done, unreadable = keys.reencrypt(rt.engine, rt.vault)
    audit.record(
        rt.engine,
        audit.cli_actor(),
        "keys.rotate",
        f"key:{rt.vault.current_key_fingerprint}",
        {"reencrypted": done, "unreadable": unreadable, "spool_files": rewritten},
    )
    console.print(f"{done} number(s) re-encrypted under key {rt.vault.current_key_fingerprint}")
    if unreadable:
        errors.print(
            f"[yellow]{unreadable} number(s) no key of the keyring can read were left as they are[/]"
        )
    console.print(
        "old keys still decrypt; restart every running process (ingest, dashboard) so it encrypts "
        "with the new key, then run `campaign keys retire`",
        highlight=False,
    )


@keys_app.command("retire")
def keys_retire() -> None:
    """After a rotation and a restart: re-encrypt what was written meanwhile and drop old keys."""
    settings = get_settings()
    rt = open_runtime()
    keys.rekey_spool(Spool(settings.spool_dir, rt.vault), rt.vault)
    step = keys.retire(settings, rt.engine, rt.vault)
    if step.finished:
        audit.record(
            rt.engine,
            audit.cli_actor(),
            "keys.retire",
            f"key:{step.key}",
            {"retired": step.retired, "reencrypted": step.reencrypted, "unreadable": step.unreadable},
        )
        console.print(
            f"every number is under key {step.key}; {step.reencrypted} re-encrypted now; "
            f"retired: {', '.join(step.retired) or 'none'}"
        )
    for line in step.instructions:
        console.print(line, highlight=False, soft_wrap=True)
