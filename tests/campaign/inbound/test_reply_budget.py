"""Every text template to supporters, in every language, filled with the largest counts, stays
within its segment budget as the network counts segments (GSM 03.38 / UCS-2).

The templates are found, not listed: every upper-case module-level table of the inbound and
messaging packages that maps ISO 639-1 codes to texts (thank-yous, HELP, confirmations,
outcome messages, ...), so a table or language added later is checked too.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
from collections.abc import Iterator

import pytest

import campaign.inbound
import campaign.messaging
from campaign.appeals.outcomes import KINDS
from campaign.inbound import replies
from campaign.messaging.segments import GSM_7BIT, measure

LARGEST = 9_999_999
PERSON = "Hassan Bouchikhi"  # a name of usual length; longer ones are shortened to fit
LONGEST_OUTCOME = max((label for label, _ in KINDS.values()), key=len).lower()


def _tables() -> Iterator[tuple[str, str, str]]:
    for package in (campaign.inbound, campaign.messaging):
        for module_info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module_info.name.endswith(".vocabulary"):
                continue  # the words' table and their sources: read, never sent
            module = importlib.import_module(module_info.name)
            for name, table in vars(module).items():
                if not (name.isupper() and isinstance(table, dict) and table):
                    continue
                if all(
                    isinstance(k, str) and len(k) == 2 and k.islower() and isinstance(v, str)
                    for k, v in table.items()
                ):
                    for language, template in table.items():
                        yield f"{module_info.name.rsplit('.', 1)[-1]}.{name}", language, template


TEMPLATES = sorted(set(_tables()))


class _Largest(dict[str, str]):
    """Placeholder values at their longest; an unknown placeholder is ten characters."""

    def __init__(self, language: str):
        super().__init__(
            others=replies.group_digits(LARGEST - 1, language),
            count=replies.group_digits(LARGEST, language),
            person=PERSON,
            title=f"Free {PERSON}",
            what=LONGEST_OUTCOME,
            asked="'" + "X" * 16 + "'",  # the language keyword's word, cut at 16
            known=", ".join(sorted(code.upper() for code in replies.LANGUAGE_SET)),
        )

    def __missing__(self, key: str) -> str:
        return "x" * 10


def test_the_templates_are_found() -> None:
    names = {name for name, _, _ in TEMPLATES}
    assert {"replies.THANK_YOU", "replies.HELP", "replies.STOPPED", "outcome_messages.GOOD"} <= names
    assert {"en", "nl", "fr", "es", "sw", "ar"} <= {language for _, language, _ in TEMPLATES}


@pytest.mark.parametrize(("table", "language", "template"), TEMPLATES)
def test_every_template_fits_its_budget_in_every_language(table: str, language: str, template: str) -> None:
    assert {name for _, name, _, _ in string.Formatter().parse(template) if name} <= set(_Largest(language))
    filled = template.format_map(_Largest(language))
    found = measure(filled)
    assert found.segments <= replies.budget(language), f"{table}[{language}]: {found.line()}: {filled}"
    if language in replies.GSM_LANGUAGES:
        assert found.encoding == GSM_7BIT, f"{table}[{language}]: {found.line()}"


@pytest.mark.parametrize("language", sorted(replies.THANK_YOU))
def test_a_long_name_is_shortened_to_the_budget_keeping_the_opt_out_words(language: str) -> None:
    words = replies.AppealWords(person="Hassan " + "Bouchikhi " * 20, title="t")
    text = replies.thank_you(words, LARGEST, language)
    found = measure(text)
    assert found.segments <= replies.budget(language), found.line()
    assert text.endswith(replies.THANK_YOU[language].rsplit("}", 1)[-1])  # only the name was cut
    if language in replies.GSM_LANGUAGES:
        assert found.encoding == GSM_7BIT  # the cut name's "..." is GSM, not "…"
