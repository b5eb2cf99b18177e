"""Screen and filter addresses under generated query strings: a screen never stops on a wrong value."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign.access import rotation
from campaign.errors import BadRequest
from dashboard import params
from tests.fuzz.conftest import FUZZ, nasty_text

NAMES = ["appeal", "campaign", "theme", "label", "goal", "from", "to", "shade", "region", "country", "x"]
queries = st.dictionaries(
    st.one_of(st.sampled_from(NAMES), st.text(max_size=10)),
    st.lists(st.one_of(nasty_text, st.text(max_size=30), st.integers().map(str)), min_size=1, max_size=4),
    max_size=8,
)


@FUZZ
@given(query=queries)
def test_every_screen_reads_any_address(query: dict[str, list[str]]) -> None:
    live = params.live_params(query)
    assert live.theme in params.LIVE_THEMES
    on_air = params.on_air_params(query)
    assert on_air.theme in params.ON_AIR_THEMES
    assert on_air.label is None or 0 < len(on_air.label) <= params.LABEL_LENGTH
    assert on_air.goal is None or on_air.goal >= 0
    for selection in (live.selection, on_air.selection):
        for slug in (*selection.appeals, *selection.campaigns):
            assert slug and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in slug)
    map_view = params.map_params(query)
    assert map_view.shade in params.MAP_SHADES
    assert not (map_view.start and map_view.end) or map_view.start <= map_view.end
    assert params.map_params({k: [v] for k, v in params.map_query(map_view).items() if v}) == map_view
    params.outcomes_params(query)


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("²", None),  # str.isdigit() says yes, int() says no: it stopped the on-air screen
        ("①②", None),
        ("9" * 5000, None),  # over Python's 4,300 digits for int(): it stopped the screen too
        ("٣٠٠", 300),  # Arabic-Indic digits are digits
        ("10,000", 10000),
        ("off", 0),
    ],
)
def test_goal_regressions(goal: str, expected: int | None) -> None:
    assert params.on_air_params({"goal": [goal]}).goal == expected


@FUZZ
@given(
    picked=st.one_of(
        st.dates(), st.tuples(), st.tuples(st.dates()), st.tuples(st.dates(), st.dates()), nasty_text
    )
)
def test_date_range_of_any_widget_value(picked: object) -> None:
    start, end = params.date_range(picked)
    assert start is None or isinstance(start, date)
    assert end is None or isinstance(end, date)


def test_a_crafted_address_with_40000_values_is_bounded() -> None:
    """The attack that found it: 40,000 slugs took 7.6 s of dashboard CPU (quadratic dedupe)."""
    many = ",".join(f"appeal-{i}" for i in range(40_000))
    chosen = params.selection({"appeal": [many], "campaign": [many] * 500})
    assert len(chosen.appeals) == params.MOST_LISTED == len(chosen.campaigns)
    assert chosen.appeals[:2] == ("appeal-0", "appeal-1")  # the first ones, in order
    history = params.history_params({"appeal": [many], "country": ["??"] * 40_000, "channel": ["x" * 10_000]})
    assert len(history.filters.appeals) == params.MOST_LISTED
    assert len(history.problems) == params.MOST_PROBLEMS + 1  # the rest are counted, not listed
    assert all(len(problem) < 200 for problem in history.problems)
    repeated = params.selection({"appeal": ["hassan,HASSAN, hassan"] * 3})
    assert repeated.appeals == ("hassan",)


# A rotating screen's list as people type it: pages and scopes, mixed with anything at all.
rotate_parts = st.one_of(
    st.sampled_from(
        ["live", "on-air", "map", "live:hassan", "map:campaign:kenya", "on-air:all", "live:appeal:x"]
    ),
    nasty_text,
)


@FUZZ
@given(
    text=st.one_of(nasty_text, st.lists(rotate_parts, max_size=25).map(",".join)),
    every=st.one_of(st.none(), nasty_text, st.integers().map(str)),
)
def test_a_rotation_list_is_read_or_refused_in_words(text: str, every: str | None) -> None:
    try:
        playlist = rotation.parse(text, every)
    except BadRequest as refused:
        assert refused.message.startswith(("rotate: ", "every: ")) and len(refused.message) < 300
        return
    assert 0 < len(playlist.entries) <= rotation.MOST_ENTRIES
    assert rotation.EVERY_LEAST <= playlist.every <= rotation.EVERY_MOST
    assert rotation.parse(playlist.text, playlist.every) == playlist
