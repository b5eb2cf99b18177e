"""The ``campaign`` commands for everything around the signatures.

API tokens, social pages and groups, Flickr polling, demonstrations and outcomes.  They
live beside ``cli.main`` (which adds them with ``add_to``) so that file stays about
the SMS side; errors a person can fix end as one line there, like every other command.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import redis
import typer
from rich.table import Table
from sqlalchemy.exc import InterfaceError, OperationalError

from campaign import audit, logs
from campaign.access import tokens
from campaign.activity import demonstrations, flickr, social
from campaign.appeals import outcomes
from campaign.appeals import registry as appeals
from campaign.errors import CampaignError, ConfigurationError, NotFound, Unavailable
from campaign.settings import get_settings
from cli.common import console, errors, open_runtime, parse_day_or_when, parse_when

token_app = typer.Typer(help="API tokens for machine clients (the events API).", no_args_is_help=True)
social_app = typer.Typer(help="Social pages, groups and accounts of the campaigns.", no_args_is_help=True)
poll_app = typer.Typer(help="Fetch activity from platforms that have no webhooks.", no_args_is_help=True)
demonstration_app = typer.Typer(help="Offline demonstrations for the map.", no_args_is_help=True)
outcome_app = typer.Typer(help="What happened to the people of the appeals.", no_args_is_help=True)

STORAGE_DOWN = (OperationalError, InterfaceError)


def add_to(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
    app.add_typer(social_app, name="social")
    app.add_typer(poll_app, name="poll")
    app.add_typer(demonstration_app, name="demonstration")
    app.add_typer(outcome_app, name="outcome")


def _storage_down(error: Exception) -> CampaignError:
    return Unavailable(f"database unavailable ({type(error).__name__}); the next poll catches up")


# -- tokens -----------------------------------------------------------------------------------
@token_app.command("add")
def token_add(name: Annotated[str, typer.Argument(help="Who uses it, e.g. website.")]) -> None:
    """Make a token; it is printed once and only its hash is kept."""
    engine = open_runtime().engine
    token = tokens.create(engine, name)
    audit.record(engine, audit.cli_actor(), "token.add", name.strip())
    errors.print(f"token [bold]{name}[/] made; it is shown this once, keep it with the client:")
    typer.echo(token)


@token_app.command("list")
def token_list() -> None:
    """List the tokens (never the tokens themselves)."""
    table = Table("name", "created", "last used", "revoked")
    for info in tokens.listing(open_runtime().engine):
        table.add_row(
            info.name,
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "never",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Stop a token from working, at once."""
    engine = open_runtime().engine
    tokens.revoke(engine, name)
    audit.record(engine, audit.cli_actor(), "token.revoke", name)
    console.print(f"revoked token [bold]{name}[/]")


# -- social -----------------------------------------------------------------------------------
@social_app.command("link")
def social_link(
    campaign: Annotated[str, typer.Option(help="Campaign slug, e.g. kenya.")],
    platform: Annotated[str, typer.Option(help="facebook, instagram, flickr, ...")],
    account_id: Annotated[str, typer.Option("--id", help="The page's, group's or account's id.")],
    name: Annotated[str, typer.Option(help="A name to recognise it by.")] = "",
) -> None:
    """Say which campaign a page or group carries; its webhooks then count for it."""
    social.link_account(open_runtime().engine, campaign, platform, account_id.strip(), name.strip()[:200])
    console.print(f"{platform} {account_id} now counts for campaign [bold]{campaign}[/]")


@poll_app.command("flickr")
def poll_flickr(
    campaign: Annotated[str, typer.Option(help="Campaign slug the photos count for.")],
    tag: Annotated[str, typer.Option(help="Flickr tag, e.g. reachoutforkenya (several: a,b).")],
    every: Annotated[
        float | None, typer.Option(help="Poll again every this many seconds, until Ctrl-C.", min=1)
    ] = None,
    per_page: Annotated[int, typer.Option(help="Photos per request (at most 500).", min=1, max=500)] = 250,
) -> None:
    """Store every photo with the tag once, as social activity of the campaign."""
    settings = get_settings()
    logs.configure(settings)
    if not settings.flickr_api_key:
        raise ConfigurationError(
            "CAMPAIGN_FLICKR_API_KEY is not set; get a key at https://www.flickr.com/services/apps/create/"
        )
    tag = flickr.check_tag(tag)
    rt = open_runtime()
    if campaign not in social.scopes(rt.engine)[0]:
        raise NotFound(f"no campaign {campaign!r}")
    client = flickr.FlickrClient(settings.flickr_api_key, settings.flickr_api_url)
    # Ctrl-C or SIGTERM ends the loop between polls: a KeyboardInterrupt raised inside a
    # database or HTTP call could be swallowed there and leave the poller running.
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.is_set():
            try:
                report = flickr.poll(rt.engine, rt.live, rt.vault, client, campaign, tag, per_page=per_page)
                console.print(f"{datetime.now():%H:%M:%S}  {report.line()}", highlight=False)
            except (flickr.FlickrError, *STORAGE_DOWN) as error:
                problem = error if isinstance(error, CampaignError) else _storage_down(error)
                if every is None or (isinstance(problem, flickr.FlickrError) and problem.fatal):
                    raise problem from None
                errors.print(f"[yellow]{problem.message}; trying again in {every:g} s[/]", highlight=False)
            if every is None:
                return
            stop.wait(every)
        console.print("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        client.close()


# -- demonstrations ---------------------------------------------------------------------------
@demonstration_app.command("add")
def demonstration_add(
    campaign: Annotated[str, typer.Option(help="Campaign slug, e.g. kenya.")],
    title: Annotated[str, typer.Option(help="e.g. 'Candles for Kenya'.")],
    city: Annotated[str, typer.Option(help="City; its coordinates are found offline.")],
    country: Annotated[str, typer.Option(help="Country code or name, e.g. KE.")],
    starts_at: Annotated[str, typer.Option(help="Start, ISO 8601, e.g. 2008-03-01T14:00+03:00.")],
    attendance: Annotated[int | None, typer.Option(help="Estimated attendance.")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude, when the city is not found.")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude, when the city is not found.")] = None,
    organiser: Annotated[str, typer.Option(help="Who organised it.")] = "",
    link: Annotated[list[str] | None, typer.Option(help="A link about it (repeatable).")] = None,
    photo: Annotated[list[str] | None, typer.Option(help="A photo URL (repeatable).")] = None,
) -> None:
    """Add a demonstration (the same campaign, city, start and title updates it)."""
    rt = open_runtime()
    item = demonstrations.DemonstrationInput(
        campaign=campaign,
        title=title,
        city=city,
        country=country,
        starts_at=parse_when(starts_at, "--starts-at") or datetime.now(UTC),
        latitude=lat,
        longitude=lon,
        attendance=attendance,
        organiser=organiser,
        links=link or [],
        photos=photo or [],
        source="cli",
    )
    values = demonstrations.prepare(item)
    demonstrations.save(rt.engine, [item])
    console.print(
        f"saved demonstration [bold]{values['title']}[/] in {values['city']}, {values['country']} "
        f"({values['latitude']:.2f}, {values['longitude']:.2f})",
        highlight=False,
    )


@demonstration_app.command("import")
def demonstration_import(path: Path) -> None:
    """Import demonstrations from CSV (campaign,title,city,country,starts_at[,attendance,...])."""
    report = demonstrations.import_csv(open_runtime().engine, path)
    for line, reason in report.errors:
        errors.print(f"{path}:{line}: {reason}", highlight=False)
    console.print(f"{report.saved:,} saved, {len(report.errors):,} bad row(s)")
    if report.errors:
        raise typer.Exit(1)


@demonstration_app.command("list")
def demonstration_list(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
) -> None:
    """List the demonstrations, earliest first."""
    table = Table("campaign", "starts", "title", "city", "country", "attendance")
    for row in demonstrations.listing(open_runtime().engine, campaign):
        attendance = f"{row['attendance']:,}" if row["attendance"] is not None else ""
        table.add_row(
            row["campaign"],
            f"{row['starts_at']:%Y-%m-%d %H:%M}",
            row["title"],
            row["city"],
            row["country"],
            attendance,
        )
    console.print(table)


# -- outcomes ---------------------------------------------------------------------------------
@outcome_app.command("record")
def outcome_record(
    appeal: Annotated[str, typer.Argument(help="The appeal's slug, e.g. hassan.")],
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(outcomes.KINDS)}.")],
    date: Annotated[
        str | None,
        typer.Option(help="When it happened: a day (2026-12-02, in the organisation's zone) or an ISO time."),
    ] = None,
    source: Annotated[str, typer.Option(help="Where it was reported (a URL or reference).")] = "",
    note: Annotated[str, typer.Option(help="A note for staff.")] = "",
    good: Annotated[
        bool | None, typer.Option("--good/--bad", help="Override whether this counts as a good outcome.")
    ] = None,
    notify: Annotated[
        bool, typer.Option("--notify", help="Then text the outcome to the signers (preview, confirm).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --notify: send without asking.")] = False,
) -> None:
    """Record what happened to the person of an appeal."""
    rt = open_runtime()
    recorded = outcomes.record(
        rt.engine,
        appeal,
        kind,
        occurred_at=parse_day_or_when(date, "--date"),
        zone=rt.settings.tz,
        good=good,
        source=source,
        note=note,
    )
    try:  # the screens show the appeal's status
        rt.live.publish_appeal(appeals.get_appeal(rt.engine, appeal).public())
    except (redis.RedisError, OSError):
        errors.print("[yellow]Redis not reachable; the screens will pick this up when it is[/]")
    label, verdict = outcomes.KINDS[kind][0], "good" if recorded.good else "not good"
    console.print(f"recorded for [bold]{appeal}[/]: {label} ({verdict}), {recorded.occurred_at:%Y-%m-%d}")
    if notify:
        from cli.messaging import notify as notify_signers

        notify_signers(appeal, text=None, yes=yes, wait=False)
    else:
        console.print(f"to text it to the signers: campaign outcome notify {appeal}")
