"""Milestones: set with a reason when wrong, announced exactly once across processes and restarts.

Two real ingest processes share the database and Redis; a viewer on each gets the one
``event: milestone``; a process started afterwards announces nothing again.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from campaign.access import screens
from campaign.appeals import goals, milestones
from campaign.appeals import registry as appeals
from campaign.errors import BadRequest
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import MilestonePassed, OutboxMessage
from tests.conftest import post_twilio, start_ingest, twilio_form

pytestmark = pytest.mark.usefixtures("hassan")


def set_milestones(runtime: Runtime, values: list[int]) -> None:
    appeals.edit_appeal(runtime.engine, "hassan", milestones=values)
    runtime.live.publish_appeal(appeals.get_appeal(runtime.engine, "hassan").public())


def rows(runtime: Runtime) -> list[tuple[str, int, bool]]:
    with runtime.engine.connect() as connection:
        found = connection.execute(
            select(MilestonePassed.scope, MilestonePassed.milestone, MilestonePassed.announced)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def test_bad_milestones_and_goals_are_refused_with_a_reason(runtime: Runtime) -> None:
    with pytest.raises(BadRequest, match="milestone -5: must be a positive number"):
        appeals.edit_appeal(runtime.engine, "hassan", milestones=[10, -5])
    assert appeals.edit_appeal(runtime.engine, "hassan", milestones=[3, 1, 3]) == {
        "milestones": (None, [1, 3])
    }
    assert milestones.claim(runtime.engine, "appeal:hassan", 3)
    with pytest.raises(BadRequest, match="goal 2: under milestone 3, which the total has passed"):
        appeals.edit_appeal(runtime.engine, "hassan", goal=2)
    assert appeals.get_appeal(runtime.engine, "hassan").goal == 10000, "nothing was saved"


def test_a_milestone_is_claimed_once(runtime: Runtime) -> None:
    assert milestones.claim(runtime.engine, "appeal:hassan", 10)
    assert not milestones.claim(runtime.engine, "appeal:hassan", 10)
    assert milestones.claim(runtime.engine, "appeal:kenya", 10)


def test_milestones_already_passed_when_set_are_not_news(runtime: Runtime, client: TestClient) -> None:
    for i in range(2):
        assert post_twilio(client, twilio_form(f"SMm{i}", f"+3161234567{i}", "JA")).status_code == 200
    set_milestones(runtime, [1, 2, 5])
    assert sorted(rows(runtime)) == [("appeal:hassan", 1, False), ("appeal:hassan", 2, False)]


async def watch(url: str, opened: asyncio.Event, until_total: int) -> list[tuple[str, dict[str, object]]]:
    """The stream's events, (kind, data), until a total of ``until_total`` arrived."""
    seen: list[tuple[str, dict[str, object]]] = []
    kind = "message"
    async with httpx.AsyncClient(timeout=20) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                seen.append((kind, data))
                opened.set()
                if kind == "total" and data["total"] >= until_total:
                    return seen
    return seen


def test_a_milestone_is_announced_once_across_processes_and_restarts(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    set_milestones(runtime, [2, 3])
    token = screens.create(runtime.engine, "gallery", appeal="hassan", actor="test")
    # Both started after the milestones were set: each reads them at once, and both race to claim.
    ingest_server = start_ingest(settings, tmp_path / "first.log")
    second = start_ingest(settings, tmp_path / "second.log")
    try:

        async def scenario() -> list[list[tuple[str, dict[str, object]]]]:
            opened = [asyncio.Event(), asyncio.Event()]
            watchers = [
                asyncio.create_task(watch(f"{server.url}/api/v1/appeals/hassan/stream?token={token}", o, 4))
                for server, o in zip((ingest_server, second), opened, strict=True)
            ]
            for event in opened:
                await asyncio.wait_for(event.wait(), 10)
            for i in range(4):  # each text through either process: both see every total
                server = (ingest_server, second)[i % 2]
                with httpx.Client(base_url=server.url) as http:
                    form = twilio_form(f"SMk{i}", f"+3161234560{i}", "JA")
                    response = await asyncio.to_thread(post_twilio, http, form)
                assert response.status_code == 200
                await asyncio.sleep(0.3)
            return list(await asyncio.wait_for(asyncio.gather(*watchers), 20))

        for seen in asyncio.run(scenario()):
            passed = [data for kind, data in seen if kind == "milestone"]
            assert [(m["scope"], m["milestone"]) for m in passed] == [
                ("appeal:hassan", 2),
                ("appeal:hassan", 3),
            ]
        assert sorted(rows(runtime)) == [("appeal:hassan", 2, True), ("appeal:hassan", 3, True)]
    finally:
        second.stop()
        ingest_server.stop()

    # A restart: the new process sees totals past both milestones and announces neither again.
    third = start_ingest(settings, tmp_path / "third.log")
    try:

        async def after_restart() -> list[tuple[str, dict[str, object]]]:
            opened = asyncio.Event()
            url = f"{third.url}/api/v1/appeals/hassan/stream?token={token}"
            watcher = asyncio.create_task(watch(url, opened, 5))
            await asyncio.wait_for(opened.wait(), 10)
            with httpx.Client(base_url=third.url) as http:
                await asyncio.to_thread(post_twilio, http, twilio_form("SMk9", "+31612345609", "JA"))
            return await asyncio.wait_for(watcher, 20)

        seen = asyncio.run(after_restart())
        assert [kind for kind, _ in seen] == ["total", "total"]
        assert len(rows(runtime)) == 2
    finally:
        third.stop()


def test_a_campaigns_and_everythings_milestones_and_stretch_goal_are_announced_once(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    """Two processes, then a restart: each milestone of campaign torture and of all goes out once,
    the stretch goal moves on when reached, and the lead is texted once per milestone."""
    goals.edit(runtime.engine, "torture", goal=2, stretch_step=3, milestones=[3])
    goals.edit(runtime.engine, "all", milestones=[3])
    token = screens.create(runtime.engine, "everything", actor="test")
    lead = {"CAMPAIGN_MILESTONE_NOTIFY": "+31611112222"}
    first = start_ingest(settings, tmp_path / "first.log", extra_env=lead)
    second = start_ingest(settings, tmp_path / "second.log", extra_env=lead)
    servers = (first, second)
    try:

        async def scenario() -> list[list[tuple[str, dict[str, object]]]]:
            opened = [asyncio.Event() for _ in range(3)]
            urls = [
                f"{first.url}/api/v1/campaigns/torture/stream?token={token}",
                f"{second.url}/api/v1/campaigns/torture/stream?token={token}",
                f"{second.url}/api/v1/campaigns/all/stream?token={token}",
            ]
            watchers = [asyncio.create_task(watch(url, o, 6)) for url, o in zip(urls, opened, strict=True)]
            for event in opened:
                await asyncio.wait_for(event.wait(), 10)
            for i in range(6):  # each text through either process
                with httpx.Client(base_url=servers[i % 2].url) as http:
                    form = twilio_form(f"SMc{i}", f"+3161234570{i}", "JA")
                    response = await asyncio.to_thread(post_twilio, http, form)
                assert response.status_code == 200
                await asyncio.sleep(0.3)
            return list(await asyncio.wait_for(asyncio.gather(*watchers), 20))

        torture_one, torture_two, everything = asyncio.run(scenario())
        for seen in (torture_one, torture_two):
            passed = [(data["scope"], data["milestone"]) for kind, data in seen if kind == "milestone"]
            assert passed == [("campaign:torture", 2), ("campaign:torture", 3), ("campaign:torture", 5)]
        passed = [(data["scope"], data["milestone"]) for kind, data in everything if kind == "milestone"]
        assert passed == [("all", 3)]
        assert goals.get(runtime.engine, "torture").goal == 8, "the stretch goal moved on twice"
        for server in servers:  # each process reads the moved goal within its poll
            figures = wait_for_goal(f"{server.url}/api/v1/campaigns/torture?token={token}", 8)
            assert (figures["signatures"], figures["goal"]) == (6, 8)
            public = wait_for_goal(f"{server.url}/public/campaigns/torture", 8)
            assert (public["total"], public["goal"]) == (6, 8), "the public counter shows it too"
    finally:
        second.stop()
        first.stop()
    expected = [("all", 3, True), ("campaign:torture", 2, True), ("campaign:torture", 3, True)]
    assert sorted(rows(runtime)) == [*expected, ("campaign:torture", 5, True)]
    assert lead_texts(runtime) == [
        "Milestone: all appeals together passed 3 signatures",
        "Milestone: campaign torture passed 2 signatures",
        "Milestone: campaign torture passed 3 signatures",
        "Milestone: campaign torture passed 5 signatures",
    ]

    third = start_ingest(settings, tmp_path / "third.log", extra_env=lead)
    try:

        async def after_restart() -> list[tuple[str, dict[str, object]]]:
            opened = asyncio.Event()
            watcher = asyncio.create_task(
                watch(f"{third.url}/api/v1/campaigns/all/stream?token={token}", opened, 7)
            )
            await asyncio.wait_for(opened.wait(), 10)
            with httpx.Client(base_url=third.url) as http:
                await asyncio.to_thread(post_twilio, http, twilio_form("SMc9", "+31612345709", "JA"))
            return await asyncio.wait_for(watcher, 20)

        assert [kind for kind, _ in asyncio.run(after_restart())] == ["total", "total"]
        assert len(rows(runtime)) == 4
        assert len(lead_texts(runtime)) == 4
    finally:
        third.stop()


def wait_for_goal(url: str, goal: int) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while True:
        figures: dict[str, object] = httpx.get(url).json()
        if figures["goal"] == goal or time.monotonic() > deadline:
            return figures
        time.sleep(0.2)


def lead_texts(runtime: Runtime) -> list[str]:
    """The leads' milestone texts in the outbox (reply lane), without their time."""
    with runtime.engine.connect() as connection:
        found = connection.execute(
            select(OutboxMessage.body).where(OutboxMessage.kind == "milestone", OutboxMessage.lane == "reply")
        )
        return sorted(body.rsplit(" (", 1)[0] for (body,) in found)
