"""One sending process (started by ``tests.faults.load``); imports little, so it starts fast.

It sends its share of signed webhooks at a fixed rate, retrying an event (same
MessageSid, as a provider does) on a 5xx or a broken connection until it gets a 2xx or
``GIVE_UP`` seconds passed; every twentieth event is delivered once more after its 2xx
(a provider's duplicate delivery).  What happened is written to a JSON file.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import httpx

GIVE_UP = 60.0  # seconds a sender keeps retrying one event
ANSWER_WITHIN = 15.0  # seconds a request waits for its answer: Twilio's webhook timeout
IN_FLIGHT = 8  # concurrent requests per sender

Event = tuple[str, dict[str, str], str]  # MessageSid, form, X-Twilio-Signature


def send(url: str, share: list[Event], rate: float, out: str) -> None:
    Path(out).with_suffix(".sending").touch()  # imports done: the load begins now
    record = asyncio.run(_send(url, share, rate))
    Path(out).write_text(json.dumps(record))


async def _send(url: str, share: list[Event], rate: float) -> dict[str, object]:
    statuses: Counter[str] = Counter()
    acknowledged: list[str] = []
    gave_up: list[str] = []
    requests = 0
    semaphore = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, timeout=ANSWER_WITHIN) as http:

        async def deliver(sid: str, form: dict[str, str], signature: str, repeat: bool) -> None:
            nonlocal requests
            headers = {"X-Twilio-Signature": signature}
            pause = 0.2
            async with semaphore:
                # A provider's retry window opens at its first attempt, not while the event
                # waited for a free connection here (a loaded machine queues them for seconds).
                began = time.monotonic()
                while True:
                    requests += 1
                    try:
                        response = await http.post("/webhooks/twilio", data=form, headers=headers)
                        statuses[str(response.status_code)] += 1
                        if 200 <= response.status_code < 300:
                            acknowledged.append(sid)
                            if not repeat:
                                return
                            repeat = False
                            continue
                    except httpx.HTTPError as error:
                        statuses[f"error:{type(error).__name__}"] += 1
                    if time.monotonic() - began > GIVE_UP:
                        gave_up.append(sid)
                        return
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 2.0)

        tasks = []
        start = time.monotonic()
        for index, (sid, form, signature) in enumerate(share):
            await asyncio.sleep(max(0.0, start + index / rate - time.monotonic()))
            tasks.append(asyncio.create_task(deliver(sid, form, signature, repeat=index % 20 == 7)))
        await asyncio.gather(*tasks)
    return {
        "events": len(share),
        "requests": requests,
        "acknowledged": acknowledged,
        "statuses": dict(statuses),
        "gave_up": gave_up,
    }
