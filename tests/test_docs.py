"""The docs stay honest: their settings, commands, examples and links are the real ones.

README.md is the front door; the reference lives in docs/*.md.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from campaign.settings import Settings
from cli.main import app
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


def test_readme_is_a_front_door() -> None:
    assert len(README.splitlines()) <= 220, "README.md grows into a manual: move the reference to docs/"


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


def _without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", _without_code_blocks(text))


def _anchors(text: str) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them."""
    headings = re.findall(r"^#{1,6} (.+?)\s*$", _without_code_blocks(text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_point_to_files_that_exist(page: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", _prose(DOCS[page]))
    relative = [link for link in links if not re.match(r"[a-z]+:", link)]
    for link in relative:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_file(), f"{_name(page)}: {link} points to no file"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target.read_text()), f"{_name(page)}: {link}: no such heading"
