"""The README stays honest: its settings and commands are the real ones."""

from __future__ import annotations

import re

from typer.main import get_command

from campaign.cli import app
from campaign.settings import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    documented = set(re.findall(r"^\| `CAMPAIGN_([A-Z_]+)` \|", README, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_documented_commands_exist() -> None:
    cli = get_command(app)
    for line in re.findall(r"^\| `campaign ([a-z ]+?)(?: \[|`| [A-Z])", README, flags=re.M):
        group = cli
        for word in line.split()[:2]:
            commands = getattr(group, "commands", {})
            if word.split("|")[0] in commands:
                group = commands[word.split("|")[0]]
        assert group is not cli, f"`campaign {line}` is documented but not a command"


def test_quick_start_is_exactly_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./dev up", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\n./dev test\n" in ci
