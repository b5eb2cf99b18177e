"""The Appeals page's conversions from what a lead typed to the core's inputs, without Streamlit."""

from __future__ import annotations

import pytest

from campaign.errors import BadRequest
from dashboard.appeal_forms import translation_lines, translation_text, words


def test_keywords_are_split_on_spaces_and_commas() -> None:
    assert words(" HASSAN, freehassan;JA  ") == ["HASSAN", "freehassan", "JA"]
    assert words("  ") == []


def test_translations_one_a_line_round_trip() -> None:
    typed = "fr=Merci ! {person}\n\nnl: Dank je! {person}\ndefault=Thanks, {person}"
    found = translation_lines(typed)
    assert found == {"fr": "Merci ! {person}", "nl": "Dank je! {person}", "default": "Thanks, {person}"}
    assert translation_lines(translation_text(tuple(sorted(found.items())))) == found
    with pytest.raises(BadRequest, match="unknown language code 'xx'"):
        translation_lines("xx=Merci")
