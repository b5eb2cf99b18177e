"""`campaign user` and `campaign screen` in a real process, as an operator types them."""

from __future__ import annotations

import os
import re
import subprocess

import httpx
import pytest
from starlette.testclient import TestClient

from campaign import audit
from campaign.access import screens, users
from campaign.runtime import Runtime
from campaign.settings import Settings
from tests.conftest import Backend, backend_env
from tests.support import cli_process

PASSWORD = "correct horse battery"


def campaign(settings: Settings, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """The command in its own process, with what the operator types on standard input."""
    environment = {
        **os.environ,
        **backend_env(settings),
        "CAMPAIGN_PUBLIC_URL": settings.public_url,
        "COLUMNS": "200",
    }
    return cli_process.run(
        args,
        env=environment,
        input=input,
        timeout=120,
        cwd=settings.data_dir.parent,
    )


def test_user_add_list_passwd_role_remove(settings: Settings, runtime: Runtime) -> None:
    added = campaign(
        settings, "user", "add", "amina", "--role", "lead", "--password-stdin", input=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    assert "added amina as lead" in added.stdout and PASSWORD not in added.stdout + added.stderr
    assert users.authenticate(runtime.engine, "amina", PASSWORD, "cli-test").role == "lead"

    listing = campaign(settings, "user", "list")
    assert re.search(r"amina\s+│\s+lead", listing.stdout), listing.stdout
    assert "$argon2" not in listing.stdout

    changed = campaign(settings, "user", "passwd", "amina", "--password-stdin", input="another long one\n")
    assert changed.returncode == 0, changed.stderr
    assert users.authenticate(runtime.engine, "amina", "another long one", "cli-test").name == "amina"
    assert campaign(settings, "user", "role", "amina", "admin").returncode == 0
    assert users.get(runtime.engine, "amina").role == "admin"

    removed = campaign(settings, "user", "remove", "amina")
    assert removed.returncode == 2 and "last admin" in removed.stderr, "the last admin stays"
    campaign(settings, "user", "add", "bram", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert campaign(settings, "user", "remove", "amina").returncode == 0
    assert users.find(runtime.engine, "amina") is None
    actions = [e.action for e in audit.search(runtime.engine) if e.actor.startswith("cli")]
    assert actions == ["user.remove", "user.add", "user.role", "user.passwd", "user.add"]


def test_user_sso_reset_forgets_the_bound_identity(settings: Settings, runtime: Runtime) -> None:
    users.add(runtime.engine, "amina", "staff", None, email="amina@example.org", actor="test")
    claims = {"iss": "https://login.example.org", "sub": "1001", "email": "amina@example.org"}
    users.single_sign_on(runtime.engine, claims | {"email_verified": True}, "10.0.0.1")
    assert "amina@example.org (bound)" in campaign(settings, "user", "list").stdout
    reset = campaign(settings, "user", "sso-reset", "amina")
    assert reset.returncode == 0, reset.stderr
    assert not users.get(runtime.engine, "amina").sso_bound
    assert audit.search(runtime.engine, actions=["user.sso_reset"])[0].actor.startswith("cli")
    missing = campaign(settings, "user", "sso-reset", "nobody")
    assert missing.returncode != 0 and "no user named 'nobody'" in missing.stderr


def test_user_add_prompts_twice(settings: Settings, runtime: Runtime) -> None:
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    added = campaign(settings, "user", "add", "amina", input=typed)
    assert added.returncode == 0, added.stderr
    assert users.get(runtime.engine, "amina").role == "staff"
    mismatch = campaign(settings, "user", "add", "bram", input=f"{PASSWORD}\nsomething else\n")
    assert mismatch.returncode != 0 and users.find(runtime.engine, "bram") is None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["user", "add", "amina", "--role", "boss", "--password-stdin"],
            PASSWORD,
            "role 'boss' is not one of",
        ),
        (["user", "add", "amina", "--password-stdin"], "short", "at least 10 characters"),
        (["user", "remove", "nobody"], "", "no user named 'nobody'"),
        (["user", "passwd", "nobody", "--password-stdin"], PASSWORD, "no user named 'nobody'"),
        (["screen", "add", "x", "--appeal", "nobody"], "", "no appeal 'nobody'"),
        (["screen", "add", "x"], "", "--campaign SLUG, --all or --rotate LIST"),
        (
            ["screen", "add", "x", "--all", "--campaign", "torture"],
            "",
            "--campaign SLUG, --all or --rotate LIST",
        ),
        (
            ["screen", "add", "x", "--rotate", "live,charts"],
            "",
            "no page 'charts'; the pages are live, on-air, map",
        ),
        (["screen", "add", "x", "--rotate", "live:nobody"], "", "'live:nobody': no appeal 'nobody'"),
        (["screen", "add", "x", "--rotate", "live", "--every", "2"], "", "5 to 3600, not '2'"),
        (["screen", "add", "x", "--all", "--every", "20"], "", "give --rotate too"),
        (["screen", "add", "x", "--rotate", "live,map"], "", "the map needs a login"),
        (["screen", "revoke", "nothing"], "", "no active screen named 'nothing'"),
    ],
)
def test_mistakes_end_in_one_clear_line(
    settings: Settings, runtime: Runtime, backend: Backend, args: list[str], stdin: str, message: str
) -> None:
    if backend.name != "embedded":
        pytest.skip("messages are the same on every backend; the embedded run covers them")
    done = campaign(settings, *args, input=stdin + "\n")
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_screen_add_prints_working_links_once(
    settings: Settings, runtime: Runtime, client: TestClient, hassan: object
) -> None:
    made = campaign(settings, "screen", "add", "RTL studio 2", "--appeal", "hassan")
    assert made.returncode == 0, made.stderr
    links = dict(line.split(maxsplit=1) for line in made.stdout.splitlines())
    token = re.search(r"token=(scr_[\w-]+)", links["dashboard"]).group(1)  # type: ignore[union-attr]
    assert links["dashboard"] == f"http://127.0.0.1:8501/on-air?token={token}"
    assert links["overlay"] == f"{settings.public_url}/overlay/hassan?token={token}"
    total = httpx.URL(links["total.txt"])
    runtime.live.refresh(runtime.engine, runtime.vault)  # the appeal was added after the app started
    assert client.get(total.path, params=dict(total.params)).text == "0"

    listing = campaign(settings, "screen", "list")
    assert (
        "RTL studio 2" in listing.stdout and "appeal hassan" in listing.stdout and token not in listing.stdout
    )
    assert campaign(settings, "screen", "revoke", "RTL studio 2").returncode == 0
    assert screens.verify(runtime.engine, token) is None
    assert [e.action for e in audit.search(runtime.engine)][:2] == ["screen.revoke", "screen.add"]


def test_screen_add_all_prints_the_network_feed(
    settings: Settings, runtime: Runtime, client: TestClient, hassan: object
) -> None:
    made = campaign(settings, "screen", "add", "Network gallery", "--all")
    assert made.returncode == 0, made.stderr
    assert "all appeals" in made.stderr
    links = dict(line.split(maxsplit=1) for line in made.stdout.splitlines())
    token = re.search(r"token=(scr_[\w-]+)", links["dashboard"]).group(1)  # type: ignore[union-attr]
    assert links["overlay"] == f"{settings.public_url}/overlay/campaigns/all?token={token}"
    total = httpx.URL(links["total.txt"])
    assert total.path == "/api/v1/campaigns/all/total.txt"
    runtime.live.refresh(runtime.engine, runtime.vault)  # the appeal was added after the app started
    assert client.get(total.path, params=dict(total.params)).text == "0"


def test_screen_add_rotate_keeps_the_playlist_with_the_token(
    settings: Settings, runtime: Runtime, hassan: object
) -> None:
    made = campaign(
        settings,
        "screen",
        "add",
        "Lobby",
        "--rotate",
        "live:hassan, on-air:campaign:torture,live:all",
        "--every",
        "20",
    )
    assert made.returncode == 0, made.stderr
    assert "rotating live:hassan,on-air:campaign:torture,live every 20 s" in " ".join(made.stderr.split())
    links = dict(line.split(maxsplit=1) for line in made.stdout.splitlines())
    assert list(links) == ["dashboard"], "a rotating wall screen opens no broadcast feed"
    token = re.search(r"token=(scr_[\w-]+)", links["dashboard"]).group(1)  # type: ignore[union-attr]
    assert links["dashboard"] == f"http://127.0.0.1:8501/live?token={token}"
    screen = screens.verify(runtime.engine, token)
    assert screen is not None and screen.playlist is not None and screen.playlist.every == 20
    listing = campaign(settings, "screen", "list").stdout
    assert "Lobby" in listing and "rotating" in listing and token not in listing
