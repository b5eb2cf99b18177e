"""A campaign's and the whole network's feeds: exact sums, scoped tokens, never backwards.

Through the real ASGI app (and a real ingest process for the event stream), with screen
tokens scoped to an appeal, a campaign or everything.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from starlette.testclient import TestClient

from campaign.access import screens
from campaign.appeals import registry as appeals
from campaign.errors import BadRequest
from campaign.live.keys import appeal_key
from campaign.runtime import Runtime
from ingest.overlay import TotalsHub, campaign_scope
from tests.conftest import Server, post_twilio, twilio_form

pytestmark = pytest.mark.usefixtures("hassan", "kenya", "ahmed")


@pytest.fixture
def ahmed(runtime: Runtime) -> appeals.AppealSummary:
    """A second appeal of the torture campaign, so a campaign sum adds something up."""
    summary = appeals.add_appeal(
        runtime.engine,
        slug="ahmed",
        title="Free Ahmed",
        campaign="torture",
        keywords=["AHMED"],
        goal=5000,
    )
    runtime.live.publish_appeal(summary.public())
    return summary


def sign(http: TestClient | httpx.Client, sid: str, sender: str, word: str = "JA") -> None:
    assert post_twilio(http, twilio_form(sid, sender, word)).status_code == 200


def total(http: TestClient, path: str, token: str) -> str:
    response = http.get(path, params={"token": token})
    assert response.status_code == 200, response.text
    return response.text


def test_campaign_and_network_totals_are_the_sums_of_their_appeals(
    client: TestClient, runtime: Runtime
) -> None:
    torture = screens.create(runtime.engine, "torture gallery", campaign="torture", actor="test")
    everything = screens.create(runtime.engine, "network gallery", campaign="all", actor="test")
    sign(client, "SMc1", "+31612345678")  # hassan (featured on 4777)
    sign(client, "SMc2", "+31612345679", "AHMED")
    sign(client, "SMc3", "+31612345670", "AHMED")
    sign(client, "SMc4", "+31612345671", "KENYA")
    assert total(client, "/api/v1/campaigns/torture/total.txt", torture) == "3"
    assert total(client, "/api/v1/campaigns/kenya/total.txt", everything) == "1"
    assert total(client, "/api/v1/campaigns/all/total.txt", everything) == "4"

    figures = client.get("/api/v1/campaigns/torture", params={"token": torture}).json()
    assert (figures["campaign"], figures["title"], figures["signatures"]) == ("torture", "Torture", 3)
    assert figures["goal"] == 15000, "the sum of the appeals' goals"
    assert figures["signatures_last_minute"] == 3
    assert {a["slug"]: a["signatures"] for a in figures["appeals"]} == {"ahmed": 2, "hassan": 1}
    assert figures["channels"] == {"sms": 3}
    assert "recent" not in figures and "+31" not in json.dumps(figures), "nothing about a signer"
    network = client.get("/api/v1/campaigns/all", params={"token": everything}).json()
    assert (network["signatures"], len(network["appeals"])) == (4, 3)


def test_tokens_are_scoped_to_a_campaign_or_everything(client: TestClient, runtime: Runtime) -> None:
    torture = screens.create(runtime.engine, "torture gallery", campaign="torture", actor="test")
    hassan = screens.create(runtime.engine, "hassan gallery", appeal="hassan", actor="test")
    everything = screens.create(runtime.engine, "network", campaign="all", actor="test")
    wall = screens.create(runtime.engine, "wall", campaign="torture", page="live", actor="test")

    def status(path: str, token: str | None) -> int:
        return client.get(path, params={"token": token} if token else {}).status_code

    for path in ["/api/v1/campaigns/{}", "/api/v1/campaigns/{}/total.txt", "/overlay/campaigns/{}"]:
        assert status(path.format("torture"), None) == 401
        assert status(path.format("torture"), torture) == 200
        assert status(path.format("torture"), everything) == 200
        assert status(path.format("kenya"), torture) == 403
        assert status(path.format("all"), torture) == 403, "a campaign's token is not everything's"
        assert status(path.format("torture"), hassan) == 403, "an appeal's token is not its campaign's"
        assert status(path.format("torture"), wall) == 403, "a wall screen opens no broadcast feed"
        assert status(path.format("all"), everything) == 200
    refused = client.get("/api/v1/campaigns/all/total.txt", params={"token": torture}).json()
    assert refused["error"]["message"] == "screen 'torture gallery' shows campaign torture, not every appeal"
    assert status("/api/v1/appeals/hassan/total.txt", everything) == 200
    assert status("/api/v1/appeals/kenya/total.txt", torture) == 403


def test_an_unknown_campaign_is_a_404_in_the_error_shape(client: TestClient, runtime: Runtime) -> None:
    everything = screens.create(runtime.engine, "network", campaign="all", actor="test")
    for path in [
        "/api/v1/campaigns/nope",
        "/api/v1/campaigns/nope/total.txt",
        "/api/v1/campaigns/nope/stream",
        "/overlay/campaigns/nope",
    ]:
        response = client.get(path, params={"token": everything})
        assert response.status_code == 404, path
        assert response.json()["error"] == {
            "status": 404,
            "code": "not_found",
            "message": "no campaign 'nope'",
        }


def test_the_campaign_overlay_page_feeds_on_the_campaign_stream(client: TestClient, runtime: Runtime) -> None:
    token = screens.create(runtime.engine, "torture gallery", campaign="torture", actor="test")
    sign(client, "SMo1", "+31612345678")
    page = client.get("/overlay/campaigns/torture", params={"token": token, "theme": "green"})
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    config = json.loads(
        re.search(r'<script id="config" type="application/json">(.*?)</script>', page.text).group(1)  # type: ignore[union-attr]
    )
    assert config["stream"] == f"/api/v1/campaigns/torture/stream?token={token}"
    assert (config["label"], config["goal"], config["total"]) == ("Torture", 15000, 1)


def test_a_sum_never_goes_back_on_air(client: TestClient, runtime: Runtime) -> None:
    """A figure that drops in Redis (a forced rebuild, a stale replica) does not lower what is shown."""
    token = screens.create(runtime.engine, "torture gallery", campaign="torture", actor="test")
    sign(client, "SMn1", "+31612345678")
    sign(client, "SMn2", "+31612345679", "AHMED")
    assert total(client, "/api/v1/campaigns/torture/total.txt", token) == "2"
    runtime.live.redis.hset(appeal_key("ahmed", "tally"), "total", 0)
    assert total(client, "/api/v1/campaigns/torture/total.txt", token) == "2"
    sign(client, "SMn3", "+31612345670")  # hassan moves on; ahmed counts at its highest, not 0
    assert total(client, "/api/v1/campaigns/torture/total.txt", token) == "3"


def test_campaign_all_is_reserved(runtime: Runtime) -> None:
    with pytest.raises(BadRequest, match="'all' is reserved"):
        appeals.add_appeal(runtime.engine, slug="x", title="X", campaign="all")


def test_the_printed_links_of_campaign_and_network_screens(runtime: Runtime) -> None:
    made = {
        name: screens.create(runtime.engine, name, actor="test", **scope)  # type: ignore[arg-type]
        for name, scope in [("torture", {"campaign": "torture"}), ("all", {"campaign": "all"}), ("x", {})]
    }
    found = {name: screens.verify(runtime.engine, token) for name, token in made.items()}
    assert found["all"] is not None and found["all"].scope == "all appeals"
    assert found["torture"] is not None and found["x"] is not None
    links = screens.urls(found["torture"], made["torture"], "http://dash", "http://ingest")
    assert links["overlay"] == f"http://ingest/overlay/campaigns/torture?token={made['torture']}"
    assert links["total.txt"] == f"http://ingest/api/v1/campaigns/torture/total.txt?token={made['torture']}"
    links = screens.urls(found["all"], made["all"], "http://dash", "http://ingest")
    assert links["overlay"] == f"http://ingest/overlay/campaigns/all?token={made['all']}"


async def read_totals(url: str, count: int, opened: asyncio.Event) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    async with httpx.AsyncClient(timeout=15) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                opened.set()
                if len(events) == count:
                    break
    return events


def test_campaign_and_network_streams_follow_their_appeals(ingest_server: Server, runtime: Runtime) -> None:
    torture = screens.create(runtime.engine, "torture gallery", campaign="torture", actor="test")
    everything = screens.create(runtime.engine, "network", campaign="all", actor="test")
    with httpx.Client(base_url=ingest_server.url) as http:
        sign(http, "SMs1", "+31612345678")

        async def scenario() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
            opened = [asyncio.Event(), asyncio.Event()]
            base = ingest_server.url + "/api/v1/campaigns"
            watchers = [
                asyncio.create_task(read_totals(f"{base}/torture/stream?token={torture}", 3, opened[0])),
                asyncio.create_task(read_totals(f"{base}/all/stream?token={everything}", 4, opened[1])),
            ]
            for event in opened:
                await asyncio.wait_for(event.wait(), 10)
            for sid, sender, word in [
                ("SMs2", "+31612345679", "AHMED"),
                ("SMs3", "+31612345670", "KENYA"),  # another campaign: only the network's sum moves
                ("SMs2", "+31612345679", "AHMED"),  # a retry moves nothing
                ("SMs4", "+31612345671", "JA"),
            ]:
                await asyncio.to_thread(sign, http, sid, sender, word)
                await asyncio.sleep(0.2)
            return await watchers[0], await watchers[1]

        campaign, network = asyncio.run(scenario())
    assert campaign == [{"campaign": "torture", "total": n} for n in (1, 2, 3)]
    assert [e["total"] for e in network] == [1, 2, 3, 4]


def test_an_appeal_added_on_the_night_joins_its_campaigns_sum(runtime: Runtime) -> None:
    """The hub learns a new appeal's campaign when it first moves, and adds it in."""

    async def scenario() -> list[int]:
        hub = TotalsHub()
        hub.attach(runtime.redis_url, runtime.live)
        key = campaign_scope("torture")
        assert await hub.current(key) == 0
        mailbox = hub.subscribe(key)
        late = appeals.add_appeal(runtime.engine, slug="late", title="Late", campaign="torture")
        runtime.live.publish_appeal(late.public())
        hub.announce("late", 4)  # its first signatures, announced before the hub knew of it
        seen = [(await asyncio.wait_for(mailbox.get(), 5))[0]]
        hub.announce("hassan", 1)
        seen.append((await asyncio.wait_for(mailbox.get(), 5))[0])
        return seen

    assert asyncio.run(scenario()) == [4, 5]
