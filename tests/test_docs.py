"""The docs stay honest: their settings, commands and examples are the real ones.

README.md is the front door; the reference lives in docs/*.md.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from campaign.cli import app
from campaign.settings import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS = {page: page.read_text() for page in PAGES}
SETTINGS = (ROOT / "docs" / "settings.md").read_text()
MESSAGING = (ROOT / "docs" / "messaging.md").read_text()


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    documented = set(re.findall(r"^\| `CAMPAIGN_([A-Z_]+)` \|", SETTINGS, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_documented_commands_exist(page: Path) -> None:
    cli = get_command(app)
    for line in re.findall(r"^\| `campaign ([a-z ]+?)(?: \[|`| [A-Z])", DOCS[page], flags=re.M):
        group = cli
        for word in line.split()[:2]:
            commands = getattr(group, "commands", {})
            if word.split("|")[0] in commands:
                group = commands[word.split("|")[0]]
        assert group is not cli, f"{_name(page)}: `campaign {line}` is documented but not a command"


def test_quick_start_is_exactly_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./dev up", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\n./dev test\n" in ci


def _examples() -> list[list[str]]:
    """Every `./dev cli …` example in the shell blocks of README.md and docs/*.md, as arguments."""
    examples = []
    for text in DOCS.values():
        for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
            for command in block.replace("\\\n", " ").splitlines():
                if command.startswith("./dev cli "):  # other lines may be any shell
                    examples.append(shlex.split(command.split("  #")[0])[2:])
    return examples


@pytest.mark.parametrize("words", _examples(), ids=" ".join)
def test_documented_examples_parse(words: list[str]) -> None:
    """Each example names a real command with real options and values it accepts."""
    # Typer's groups are not click.Group subclasses (typer carries its own click): a group is
    # what has sub-commands.
    command = get_command(app)
    rest = list(words)
    while rest and rest[0] in getattr(command, "commands", {}):
        command = command.commands[rest.pop(0)]  # type: ignore[attr-defined]
    assert not hasattr(command, "commands"), f"`campaign {' '.join(words)}` names no command"
    command.make_context(" ".join(words), rest)  # raises UsageError on an unknown option or value


def test_delivery_section_names_its_settings() -> None:
    section = MESSAGING.split("## Delivering signatures to the authorities", 1)[1].split("\n## ", 1)[0]
    mail = {name for name in Settings.model_fields if name.startswith(("smtp_", "mail_"))}
    assert {f"CAMPAIGN_{name.upper()}" for name in mail} <= set(re.findall(r"CAMPAIGN_[A-Z_]+", section))
    assert len(_examples()) >= 5
