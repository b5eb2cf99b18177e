"""A raw asyncio client for the overlay's event stream, and one-at-a-time signed webhooks.

A thousand httpx clients would spend more CPU than the server they measure on a
2-core machine, so each viewer here is one ``asyncio.open_connection`` with a
hand-written GET, a chunked-transfer decoder and an event splitter: a few kB and a
few microseconds per event, all viewers on one event loop.  Every event is stamped
with ``time.perf_counter()`` as soon as it is parsed, so the stamps of viewers and of
webhook answers share one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from bench.stack import PUBLIC_URL, SHORT_CODE, TWILIO_TOKEN, WEBHOOK_APPEAL
from bench.webhooks import CONTENT_TYPE, PATH, twilio_form

STREAM_PATH = f"/api/v1/appeals/{WEBHOOK_APPEAL}/stream"


class StreamError(Exception):
    """The stream answered something other than a 200 event stream, or ended."""


@dataclass
class Viewer:
    """One overlay viewer: a connection to the stream and the totals it received, stamped."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    chunked: bool
    totals: list[tuple[int, float]] = field(default_factory=list)  # (total, perf_counter)
    _buffer: bytes = b""
    _news: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def open(cls, base_url: str, token: str, path: str = STREAM_PATH, timeout: float = 10.0) -> Viewer:
        """Connect with an on-air screen token and read the response head; the first event
        (the current total) follows."""
        path = f"{path}?{urlencode({'token': token})}"
        url = urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            "Cache-Control: no-cache\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status, _, rest = head.decode("latin-1").partition("\r\n")
        if " 200 " not in f"{status} ":
            writer.close()
            raise StreamError(f"GET {path}: {status}")
        chunked = "transfer-encoding: chunked" in rest.lower()
        return cls(reader, writer, chunked)

    async def next_total(self) -> int:
        """Wait for the next ``total`` event; record and return its total."""
        while True:
            event, sep, rest = self._buffer.partition(b"\n\n")
            if sep:
                self._buffer = rest
                total = _total(event)
                if total is not None:
                    self.totals.append((total, time.perf_counter()))
                    self._news.set()
                    self._news = asyncio.Event()
                    return total
                continue
            self._buffer += await self._read()

    async def _read(self) -> bytes:
        if not self.chunked:
            data = await self.reader.read(65536)
            if not data:
                raise StreamError("the stream ended")
            return data
        size_line = await self.reader.readline()
        if not size_line:
            raise StreamError("the stream ended")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            raise StreamError("the stream ended (last chunk)")
        data = await self.reader.readexactly(size + 2)  # the chunk and its CRLF
        return data[:-2]

    async def follow(self) -> None:
        """Read events until the stream ends or this task is cancelled (run it as a task)."""
        while True:
            await self.next_total()

    def received_after(self, total: int) -> tuple[int, float] | None:
        """The first total above ``total`` and when it arrived, or None."""
        return next(((value, stamp) for value, stamp in self.totals if value > total), None)

    async def wait_above(self, total: int) -> tuple[int, float]:
        """Wait until a total above ``total`` arrived (read by ``follow``); it and its stamp."""
        while True:
            found = self.received_after(total)
            if found is not None:
                return found
            await self._news.wait()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)


def _total(event: bytes) -> int | None:
    """The total of an ``event: total`` block; None for comments and other events."""
    kind, data = "message", ""
    for raw in event.decode("utf-8", "replace").splitlines():
        name, _, value = raw.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "data":
            data += value
    if kind != "total" or not data:
        return None
    return int(json.loads(data)["total"])


class Signer:
    """Signed Twilio webhooks from new supporters, one request each (their numbers never repeat)."""

    def __init__(self, number_prefix: str):
        self.validator = RequestValidator(TWILIO_TOKEN)
        self.prefix = number_prefix
        self.sent = 0

    def next(self) -> tuple[str, dict[str, str]]:
        """(body, headers) of the next request: "JA" from the next new number."""
        sid = f"SM{self.prefix[1:]}{time.time_ns():x}{self.sent:08x}"
        form = twilio_form(sid, f"{self.prefix}{self.sent:07d}", "JA", SHORT_CODE)
        self.sent += 1
        signature = self.validator.compute_signature(PUBLIC_URL + PATH, form)
        return urlencode(form), {"Content-Type": CONTENT_TYPE, "X-Twilio-Signature": signature}


@dataclass
class Sent:
    """One webhook: when it left, when its answer came back, and the answer's status."""

    status: int
    sent_at: float
    answered_at: float


async def send(client: httpx.AsyncClient, signer: Signer) -> Sent:
    """POST the next signed webhook and stamp both ends on the shared clock."""
    body, headers = signer.next()
    sent_at = time.perf_counter()
    response = await client.post(PATH, content=body, headers=headers)
    return Sent(response.status_code, sent_at, time.perf_counter())
