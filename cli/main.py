"""The ``campaign`` command.

Errors a person can fix (a wrong setting, an unknown appeal, a bad CSV line) are printed
as one line; tracebacks are for bugs only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import redis
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from campaign import __version__, files, logs
from campaign.access import users
from campaign.appeals import registry as appeal_service
from campaign.errors import CampaignError
from campaign.runtime import redis_url
from campaign.settings import Settings, get_settings
from campaign.storage import db, embedded_redis
from cli import access as cli_access
from cli import activity as cli_activity
from cli import appeals as cli_appeals
from cli import campaigns as cli_campaigns
from cli import delivery as cli_delivery
from cli import history as cli_history
from cli import messaging as cli_messaging
from cli import privacy as cli_privacy
from cli import scale as cli_scale
from cli.common import console, errors, open_runtime

app = typer.Typer(
    help="The campaign room: live SMS signatures, screens and history.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold phone numbers
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import historical records.", no_args_is_help=True)
redis_app = typer.Typer(help="The embedded Redis server.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(redis_app, name="redis")
cli_appeals.add_to(app)  # appeal
cli_campaigns.add_to(app)  # campaign (goals and milestones of a campaign or all)
cli_activity.add_to(app)  # token, social, poll, demonstration, outcome
cli_scale.add_to(app)  # worker
cli_privacy.add_to(app)  # supporter, retention, keys
cli_history.add_to(app)  # rollup, export
cli_delivery.add_to(app)  # deliver
cli_access.add_to(app)  # user, screen
cli_messaging.add_to(app, cli_activity.outcome_app)  # send, alert, outcome notify

ADMIN_PASSWORD_FILE = "admin-password.txt"  # noqa: S105 - a file name, not a password


def _print_version(value: bool) -> None:
    if value:
        console.print(f"campaign {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """The campaign room: live SMS signatures, screens and history."""


def main() -> None:
    files.private_umask()  # data, keys and logs are for this user only, in every child too
    try:
        app()
    except CampaignError as error:
        errors.print(f"[bold red]error:[/] {error.message}", highlight=False)
        sys.exit(2)


# -- bring-up ---------------------------------------------------------------------------------
@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Address of the ingest service.")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the ingest service.")] = None,
    dashboard_port: Annotated[int | None, typer.Option(help="Port of the dashboard.")] = None,
    demo: Annotated[bool, typer.Option(help="Seed demo appeals if none exist and send demo traffic.")] = True,
    open_dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Serve the dashboard.")
    ] = True,
    workers: Annotated[int, typer.Option(min=1, help="Ingest processes sharing the port.")] = 1,
    background: Annotated[int, typer.Option(min=0, help="Background workers (campaign worker).")] = 1,
) -> None:
    """Migrate, start the embedded Redis (unless CAMPAIGN_REDIS_URL is set) and every service."""
    from campaign.demo import seed as demo_data

    settings = get_settings()
    logs.configure(settings)
    started_redis = not settings.redis_url and not embedded_redis.is_running(settings.data_dir)
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    url = redis_url(settings)
    host = host or settings.ingest_host
    port = port or settings.ingest_port
    dashboard_port = dashboard_port or settings.dashboard_port
    token = settings.demo_twilio_token() if demo else settings.twilio_auth_token
    env = {**os.environ, "CAMPAIGN_REDIS_URL": url, "CAMPAIGN_TWILIO_AUTH_TOKEN": token}
    if demo:
        added = demo_data.seed(engine, settings.short_code)
        if added:
            console.print(f"seeded demo appeals: {', '.join(added)}")
    first_password = users.first_admin(engine, settings.data_dir / ADMIN_PASSWORD_FILE)
    engine.dispose()
    me = [sys.executable, "-m", "cli"]
    children = {
        "ingest": subprocess.Popen(  # noqa: S603 - our own command
            [*me, "ingest", "--host", host, "--port", str(port), "--workers", str(workers), "--no-migrate"],
            env=env,
        ),
    }
    for number in range(1, background + 1):
        children[f"worker {number}"] = subprocess.Popen(  # noqa: S603
            [*me, "worker", "--name", f"up-{number}"], env=env
        )
    children["sender"] = subprocess.Popen([*me, "send"], env=env)  # noqa: S603 - texts from the outbox
    if open_dashboard:
        children["dashboard"] = subprocess.Popen(  # noqa: S603
            [*me, "dashboard", "--port", str(dashboard_port)], env=env
        )
    if demo:
        children["demo traffic"] = subprocess.Popen(  # noqa: S603
            [*me, "simulate", "--url", f"http://{host}:{port}", "--wait", "--quiet"], env=env
        )
    if settings.retention_months:  # erase the numbers of long-inactive supporters, daily
        children["retention"] = subprocess.Popen(  # noqa: S603
            [*me, "retention", "run", "--every", "86400"], env=env
        )
    console.print("[bold green]campaign is up[/]  (Ctrl-C stops)")
    console.print(f"  ingest:    http://{host}:{port}  ({workers} process(es); overlay: /overlay/<appeal>)")
    if open_dashboard:
        pages = "/live  /on-air  /map  /outcomes  /history  /messages  /appeals  /admin"
        console.print(f"  dashboard: http://127.0.0.1:{dashboard_port}{pages}")
    console.print(f"  database:  {_redact(settings.resolved_database_url)}")
    console.print(f"  redis:     {url}")
    if settings.sms_provider == "console":
        console.print(f"  texts:     {settings.outbox_log} (the console provider)")
    if demo:
        console.print("  demo traffic: a TV call to action every few minutes (--no-demo turns it off)")
    if first_password:
        console.print(
            f"  first run: log in as [bold]admin[/] with password [bold]{first_password}[/]"
            f" (also in {settings.data_dir / ADMIN_PASSWORD_FILE});"
            " change it with `campaign user passwd admin`"
        )
    _supervise(children, optional=frozenset({"demo traffic", "retention"}))
    if started_redis:
        embedded_redis.stop(settings.data_dir)


def _supervise(children: dict[str, subprocess.Popen[bytes]], optional: frozenset[str] = frozenset()) -> None:
    """Wait until Ctrl-C, SIGTERM or a needed child stops; then stop them all."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None and name not in optional:
                    errors.print(f"[red]{name} stopped (exit {child.returncode}); stopping all[/]")
                    stopping = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def ingest(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    migrate: Annotated[bool, typer.Option(help="Run database migrations first.")] = True,
    workers: Annotated[int, typer.Option(min=1, help="Ingest processes sharing the port.")] = 1,
) -> None:
    """Serve the ingest service (webhooks and the live API) with uvicorn."""
    from ingest import serve

    settings = get_settings()
    logs.configure(settings)
    if migrate:
        engine = db.create_db_engine(settings.resolved_database_url)
        db.upgrade(engine)
        engine.dispose()
    if not settings.redis_url:
        settings = settings.model_copy(update={"redis_url": redis_url(settings)})
    if workers > 1:
        serve.supervise(settings, host or settings.ingest_host, port or settings.ingest_port, workers)
    else:
        serve.run(settings, host or settings.ingest_host, port or settings.ingest_port)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 for screens elsewhere.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int | None, typer.Option(help="Port; default CAMPAIGN_DASHBOARD_PORT (8501).")] = None,
) -> None:
    """Serve the dashboard (wall screens, on-air view) with Streamlit, headless.

    Its Streamlit settings travel as flags, so they hold wherever this is started.
    """
    from dashboard.launch import streamlit_command

    settings = get_settings()
    env = dict(os.environ)
    if not settings.redis_url:  # the screens only read; start the embedded server for them
        env["CAMPAIGN_REDIS_URL"] = redis_url(settings)
    port = port or settings.dashboard_port
    command = streamlit_command(host=host, port=port)
    pages = ", ".join(
        f"/{page}"
        for page in ("live", "on-air", "map", "outcomes", "history", "messages", "appeals", "admin")
    )
    console.print(f"[bold green]dashboard[/] on http://{host}:{port}: {pages}  (Ctrl-C stops)")
    sys.stdout.flush()
    sys.stderr.flush()
    # Become Streamlit (same PID): stopping this command by its PID (SIGTERM from a service
    # manager, `campaign up`, a test) then stops the server, instead of orphaning a child.
    os.execve(command[0], command, env)  # noqa: S606 - our own app, our own flags


@app.command()
def simulate(
    url: Annotated[str | None, typer.Option(help="Ingest address; default from the settings.")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many texts.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    rate: Annotated[float, typer.Option(help="Scale of the traffic (1 = 2/s background, 42/s peak).")] = 1.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per second (60: an hour a minute).")] = 30.0,
    seed: Annotated[int | None, typer.Option(help="Random seed, for the same traffic every run.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the ingest service to answer first.")] = False,
    quiet: Annotated[bool, typer.Option(help="Print only the summary.")] = False,
) -> None:
    """Send realistic demo traffic through the real signed Twilio webhook."""
    import asyncio

    import httpx

    from campaign.demo.simulate import Simulator

    settings = get_settings()
    logs.configure(settings)
    target = url or f"http://{settings.ingest_host}:{settings.ingest_port}"
    if wait:
        for _ in range(600):
            try:
                if httpx.get(f"{target}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    engine = db.create_db_engine(settings.resolved_database_url)
    keywords = [k for a in appeal_service.list_appeals(engine) if a.status == "open" for k in a.keywords]
    engine.dispose()
    simulator = Simulator(
        target,
        settings.public_url,
        settings.demo_twilio_token(),
        short_code=settings.short_code,
        keywords=keywords,
        speed=speed,
        seed=seed,
    )
    last = [0.0]

    def tick(report: object) -> None:
        if not quiet and time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            console.print(simulator.report.line())

    if count is None and duration is None and not quiet:
        console.print("sending demo traffic until Ctrl-C")
    try:
        report = asyncio.run(simulator.run(count=count, duration=duration, rate_scale=rate, on_tick=tick))
    except KeyboardInterrupt:
        report = simulator.report
    console.print(report.line())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest version."""
    settings = get_settings()
    engine = db.create_db_engine(settings.resolved_database_url)
    db.upgrade(engine)
    console.print(f"database at the newest schema: {_redact(settings.resolved_database_url)}")


# -- appeals ----------------------------------------------------------------------------------
@app.command()
def reconcile() -> None:
    """Rebuild every live figure from the database and report what was wrong."""
    from campaign.live.reconcile import reconcile as run

    rt = open_runtime()
    differences = run(rt.engine, rt.live, rt.vault)
    for line in differences:
        console.print(f"fixed: {line}")
    console.print(f"reconciled; {len(differences)} difference(s) fixed")


@import_app.command("signatures")
def import_signatures(path: Path) -> None:
    """Import historical signatures from a CSV file (appeal,phone,signed_at[,channel][,provider])."""
    from campaign.inbound.importer import import_signatures as run

    rt = open_runtime()
    try:
        with open(path, "rb") as handle:
            total = max(sum(1 for _ in handle) - 1, 0)
    except OSError as error:
        raise CampaignError(f"{path}: {error.strerror}") from None
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task("rows", total=total)
        report = run(rt.recorder, rt.vault, path, lambda line: progress.update(task, completed=line - 1))
    for line, reason in report.errors:
        errors.print(f"{path}:{line}: {reason}", highlight=False)
    try:
        rt.live.apply(report.changes)
    except (redis.RedisError, OSError):
        errors.print("[yellow]Redis not reachable; run `campaign reconcile` when it is[/]")
    console.print(
        f"{report.imported:,} imported, {report.already_there:,} already there, "
        f"{len(report.errors):,} bad line(s)"
    )
    if report.errors:
        raise typer.Exit(1)


@redis_app.command("stop")
def redis_stop() -> None:
    """Stop the embedded Redis server of the data dir."""
    settings: Settings = get_settings()
    stopped = embedded_redis.stop(settings.data_dir)
    console.print("stopped" if stopped else "the embedded Redis was not running")


if __name__ == "__main__":
    main()
