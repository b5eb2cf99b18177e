"""A rotating screen's playlist: read as written, refused with the entry it stumbled on."""

from __future__ import annotations

import pytest

from campaign.access import rotation, screens
from campaign.access.rotation import Entry
from campaign.errors import BadRequest, NotFound
from campaign.runtime import Runtime


def test_every_way_of_naming_a_scope_reads_the_same() -> None:
    playlist = rotation.parse(
        " live:hassan, map ,LIVE:campaign:torture,on-air:all,on-air:appeal:hassan,map:campaign:all", "20"
    )
    assert playlist.entries == (
        Entry("live", appeal="hassan"),
        Entry("map"),
        Entry("live", campaign="torture"),
        Entry("on-air"),
        Entry("on-air", appeal="hassan"),
        Entry("map"),
    )
    assert playlist.every == 20 and playlist.pages == ("live", "map", "on-air")
    assert playlist.text == "live:hassan,map,live:campaign:torture,on-air,on-air:hassan,map"
    assert rotation.parse(playlist.text, playlist.every) == playlist, "the written form reads back"
    assert rotation.parse("live").every == rotation.EVERY_DEFAULT
    odd = rotation.parse("live:appeal:all,live:campaign,live:appeal:appeal")
    assert odd.entries == (
        Entry("live", appeal="all"),
        Entry("live", appeal="campaign"),
        Entry("live", appeal="appeal"),
    )
    assert rotation.parse(odd.text) == odd


@pytest.mark.parametrize(
    ("text", "every", "problem"),
    [
        ("live:hassan,charts", None, "no page 'charts'; the pages are live, on-air, map"),
        ("", None, "name at least one page"),
        (" , ", None, "name at least one page"),
        ("map:hassan", None, "the map shows a campaign"),
        ("live:Hassan Ali", None, "is not a slug"),
        ("live:team:x", None, "write PAGE:APPEAL, PAGE:campaign:SLUG or PAGE:all"),
        ("live", "4", "5 to 3600, not '4'"),
        ("live", "3601", "5 to 3600"),
        ("live", "often", "5 to 3600"),
        (",".join(["live"] * 21), None, "at most 20 pages"),
        ("live:" + "x" * 2000, None, "at most 1000 characters"),
    ],
)
def test_a_wrong_playlist_is_refused_with_a_reason(text: str, every: str | None, problem: str) -> None:
    with pytest.raises(BadRequest, match=r"rotate|every") as refused:
        rotation.parse(text, every)
    assert problem in refused.value.message


def test_the_entry_of_a_page_is_its_slot_or_its_first() -> None:
    playlist = rotation.parse("live:hassan,on-air:all,live:campaign:torture")
    assert playlist.entry("live", "2") == Entry("live", campaign="torture")
    assert playlist.entry("live", "1") == Entry("live", appeal="hassan"), "slot 1 is another page's"
    assert playlist.entry("live", "99") == playlist.entry("live", "x") == Entry("live", appeal="hassan")
    assert playlist.entry("map", "0") is None


@pytest.mark.usefixtures("hassan", "kenya")
def test_unknown_appeals_and_campaigns_are_named(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        rotation.check(connection, rotation.parse("live:hassan,map:campaign:kenya,on-air"))
        with pytest.raises(NotFound, match="'live:nobody': no appeal 'nobody'"):
            rotation.check(connection, rotation.parse("live:hassan,live:nobody"))
        with pytest.raises(NotFound, match="no campaign 'nowhere'"):
            rotation.check(connection, rotation.parse("on-air:campaign:nowhere"))


@pytest.mark.usefixtures("hassan", "kenya")
def test_a_rotating_token_covers_its_entries_only(runtime: Runtime) -> None:
    playlist = rotation.parse("live:hassan,on-air:campaign:torture", 10)
    token = screens.create(runtime.engine, "Lobby", rotate=playlist, actor="test")
    screen = screens.verify(runtime.engine, token)
    assert screen is not None and screen.playlist == playlist
    assert (screen.page, screen.pages) == ("live", ("live", "on-air"))
    assert screen.scope == "rotating live:hassan,on-air:campaign:torture every 10 s"
    assert screen.covers("hassan", "torture") and not screen.covers("kenya", "kenya")
    assert not screen.covers("ahmed", "torture"), "the campaign's entry is on-air: totals, not signers"
    assert screen.covers_campaign("torture") and not screen.covers_campaign("all")
    with pytest.raises(BadRequest, match="the map needs a login"):
        screens.create(runtime.engine, "Map wall", rotate=rotation.parse("map"), actor="test")
    with pytest.raises(BadRequest, match="not --appeal or --campaign"):
        screens.create(runtime.engine, "Both", appeal="hassan", rotate=playlist, actor="test")
    with pytest.raises(NotFound, match="no appeal 'nobody'"):
        screens.create(runtime.engine, "Ghost", rotate=rotation.parse("live:nobody"), actor="test")
    assert [s.name for s in screens.listing(runtime.engine)] == ["Lobby"]
    gallery = screens.create(
        runtime.engine, "Gallery", rotate=rotation.parse("on-air:hassan,on-air"), actor="test"
    )
    shown = screens.verify(runtime.engine, gallery)
    assert shown is not None and shown.pages == ("live", "on-air"), "it plays at /live"
