"""The ``campaign user`` and ``campaign screen`` commands: who may see the dashboard.

Users log in to the dashboard with a role (viewer, staff, lead, admin); screens are wall
screens and broadcast sources that show one page through a token link, without a login.
Every change is written to the audit log under the shell user's name.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from campaign import audit
from campaign.access import roles as access
from campaign.access import rotation, screens, users
from campaign.errors import BadRequest
from campaign.settings import get_settings
from cli.common import console, errors, open_engine

user_app = typer.Typer(
    help="Dashboard users and their roles (viewer, staff, lead, admin).", no_args_is_help=True
)
screen_app = typer.Typer(help="Token links for wall screens and broadcast sources.", no_args_is_help=True)


def add_to(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(screen_app, name="screen")


def _password(from_stdin: bool, prompt: str = "Password") -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadRequest("--password-stdin: no password on standard input")
        return users.check_password(password)
    while True:
        password = typer.prompt(prompt, hide_input=True, confirmation_prompt=True)
        try:
            return users.check_password(password)
        except BadRequest as error:
            errors.print(f"[red]{error.message}[/]", highlight=False)


STDIN_HELP = "Read the password from the first line of standard input (for scripts)."


# -- users ------------------------------------------------------------------------------------
@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. amina.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(access.ROLES)}.")] = "staff",
    email: Annotated[str | None, typer.Option(help="E-mail for single sign-on (st.login / OIDC).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
    sso_only: Annotated[bool, typer.Option("--sso-only", help="No password: single sign-on only.")] = False,
) -> None:
    """Add a user; the password is asked twice (or read from standard input)."""
    name, role = users.check_name(name), access.check_role(role)
    if sso_only and not email:
        raise BadRequest("--sso-only needs --email")
    password = None if sso_only else _password(password_stdin)
    info = users.add(open_engine(), name, role, password, email=email, actor=audit.cli_actor())
    console.print(f"added [bold]{info.name}[/] as {info.role}")


@user_app.command("list")
def user_list() -> None:
    """List the users and their roles (never their passwords)."""
    table = Table("name", "role", "e-mail (SSO)", "password", "created", "last login")
    for info in users.listing(open_engine()):
        table.add_row(
            info.name,
            info.role,
            (info.email or "") + (" (bound)" if info.sso_bound else ""),
            "set" if info.has_password else "none",
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.last_login_at:%Y-%m-%d %H:%M}" if info.last_login_at else "never",
        )
    console.print(table)


@user_app.command("remove")
def user_remove(name: str) -> None:
    """Remove a user; their open dashboard sessions end at their next page load."""
    users.remove(open_engine(), name, actor=audit.cli_actor())
    console.print(f"removed [bold]{name}[/]")


@user_app.command("passwd")
def user_passwd(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
) -> None:
    """Set a user's password (and lift a lockout of their name); their open sessions end."""
    engine = open_engine()
    users.get(engine, name)  # say "no user" before asking for a password
    users.set_password(engine, name, _password(password_stdin, "New password"), actor=audit.cli_actor())
    console.print(f"password of [bold]{name}[/] changed")


@user_app.command("role")
def user_role(
    name: str, role: Annotated[str, typer.Argument(help=f"One of {', '.join(access.ROLES)}.")]
) -> None:
    """Give a user another role; their open sessions end (they log in again to get it)."""
    users.set_role(open_engine(), name, role, actor=audit.cli_actor())
    console.print(f"[bold]{name}[/] is now {access.check_role(role)}")


@user_app.command("sso-reset")
def user_sso_reset(name: str) -> None:
    """Unbind a user's single sign-on identity (a replaced account); the next verified login binds."""
    users.forget_sso_identity(open_engine(), name, actor=audit.cli_actor())
    console.print(f"single sign-on identity of [bold]{name}[/] forgotten; their sessions end")


# -- screens ----------------------------------------------------------------------------------
@screen_app.command("add")
def screen_add(
    name: Annotated[str, typer.Argument(help='Where it shows, e.g. "RTL studio 2".')],
    appeal: Annotated[str | None, typer.Option(help="Show one appeal (slug).")] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Show one campaign's appeals and their sum (slug).")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Show every appeal and the whole network's sum.")
    ] = False,
    page: Annotated[str, typer.Option(help="on-air or live.")] = "on-air",
    rotate: Annotated[
        str | None,
        typer.Option(
            help='Rotate through pages and scopes, e.g. "live:hassan,on-air:campaign:torture,live:all".'
        ),
    ] = None,
    every: Annotated[
        int | None,
        typer.Option(
            help=f"Seconds per page of --rotate ({rotation.EVERY_LEAST} to {rotation.EVERY_MOST}).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make a screen link; it is printed once and only its hash is kept."""
    if sum((appeal is not None, campaign is not None, everything, rotate is not None)) != 1:
        raise BadRequest("say what the screen shows: --appeal SLUG, --campaign SLUG, --all or --rotate LIST")
    if every is not None and rotate is None:
        raise BadRequest("--every is the seconds per page of --rotate; give --rotate too")
    playlist = rotation.parse(rotate, every) if rotate is not None else None
    settings = get_settings()
    engine = open_engine()
    token = screens.create(
        engine, name, page=page, appeal=appeal, campaign=campaign, rotate=playlist, actor=audit.cli_actor()
    )
    screen = next(s for s in screens.listing(engine) if s.name == name.strip())
    errors.print(f"screen [bold]{screen.name}[/] ({screen.page}, {screen.scope}) made; shown this once:")
    for what, url in screens.urls(
        screen, token, settings.resolved_dashboard_url, settings.public_url
    ).items():
        typer.echo(f"{what:10} {url}")


@screen_app.command("list")
def screen_list() -> None:
    """List the screens (never their tokens)."""
    table = Table("name", "page", "shows", "created", "last used", "revoked")
    for screen in screens.listing(open_engine()):
        table.add_row(
            screen.name,
            screen.page,
            screen.scope,
            f"{screen.created_at:%Y-%m-%d %H:%M}",
            f"{screen.last_used_at:%Y-%m-%d %H:%M}" if screen.last_used_at else "never",
            f"{screen.revoked_at:%Y-%m-%d %H:%M}" if screen.revoked_at else "",
        )
    console.print(table)


@screen_app.command("revoke")
def screen_revoke(name: str) -> None:
    """Stop a screen's link from working, within a few seconds."""
    screens.revoke(open_engine(), name, actor=audit.cli_actor())
    console.print(f"revoked screen [bold]{name}[/]")
