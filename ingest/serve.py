"""Serving the ingest app: one uvicorn process, or N of them sharing one listening socket.

``campaign ingest --workers N`` binds the port once and starts N ``python -m ingest --fd``
processes that inherit the socket; the kernel hands each new connection to whichever
process accepts first, and a process that dies (killed, out of memory) is started again.

Why not ``uvicorn --workers``: uvicorn 0.54 binds the shared socket with ``proto`` 0, and
asyncio (and uvloop) only set TCP_NODELAY on accepted sockets whose ``proto`` is TCP, so
every keep-alive response after the first waits for the client's delayed ACK (~40 ms on
Linux; uvicorn issue #3149).  ``listener`` binds with ``IPPROTO_TCP``, and the children
rebuild the socket from its descriptor, which reads the protocol back from the kernel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from campaign import logs
from campaign.errors import error_body
from campaign.settings import Settings

log = logging.getLogger("campaign.ingest")

RESTART_PAUSE = 0.5  # seconds between a child's death and its replacement, so a crash loop idles


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options every ingest process runs with."""
    return {
        "access_log": False,  # Vonage puts the sender's number in the query string
        "timeout_graceful_shutdown": 3,  # for requests in flight; event streams are closed at once
        "log_level": "info",
        "log_config": None,  # keep the masked handler of campaign.logs.configure
        "server_header": False,
        # The client's address is read by one rule (campaign.access.clients, from
        # CAMPAIGN_TRUSTED_PROXIES); uvicorn's own X-Forwarded-For handling (on by default,
        # trusting 127.0.0.1) would rewrite the peer before that rule sees it.
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "http": header_timeout_protocol(settings.header_timeout),
        "limit_concurrency": settings.ingest_concurrency or None,  # beyond it: 503
    }


def header_timeout_protocol(seconds: float) -> type[Any]:
    """uvicorn's httptools protocol, closing a connection whose request headers take too long.

    uvicorn waits for headers for ever (its keep-alive timeout only runs between requests), so
    a client sending half a header a byte at a time holds a connection open as long as it
    likes (slowloris).  The clock starts when the connection opens, or when a kept-alive
    connection's next request begins, and stops when the headers are complete.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from ingest.overlay import EVENT_STREAM

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        header_timeout = seconds
        header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_header_clock()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._start_header_clock()  # a kept-alive connection's next request

        def on_headers_complete(self) -> None:
            self._stop_header_clock()
            limit = self.limit_concurrency
            if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
                # uvicorn's own 503 is plain text; ours has the one JSON error shape.
                self.limit_concurrency, app = None, self.app
                self.app = over_the_limit
                try:
                    super().on_headers_complete()
                finally:
                    self.limit_concurrency, self.app = limit, app
                return
            super().on_headers_complete()

        def shutdown(self) -> None:
            # An event stream never completes, so uvicorn would wait out its grace period and
            # then cancel it with a traceback.  Closed now, the viewer's browser reconnects at
            # once, to a sibling process or to this one's replacement.
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete and cycle.scope.get(EVENT_STREAM):
                self.transport.close()
                return
            super().shutdown()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_clock()
            super().connection_lost(exc)

        def _start_header_clock(self) -> None:
            if self.header_timer is None:  # not again at the first byte: the clock keeps running
                self.header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

        def _stop_header_clock(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def _headers_too_slow(self) -> None:
            self.header_timer = None
            if not self.transport.is_closing():
                log.info("closing a connection whose request headers took over %.0f s", self.header_timeout)
                self.transport.close()

    return HeaderTimeoutProtocol


async def over_the_limit(scope: Any, receive: Any, send: Any) -> None:
    """The answer beyond CAMPAIGN_INGEST_CONCURRENCY: a 503 in the one error shape, then close."""
    log.warning("over the concurrency limit (CAMPAIGN_INGEST_CONCURRENCY): answered 503")
    body = json.dumps(
        error_body(503, "unavailable", "too many connections to this ingest process; retry shortly")
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"retry-after", b"1"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def run(settings: Settings, host: str, port: int) -> None:
    """One process, listening by itself."""
    import uvicorn

    from ingest.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, **uvicorn_options(settings))


def run_on_fd(settings: Settings, fd: int) -> None:
    """One process of several, serving on the listening socket it inherited as ``fd``."""
    import uvicorn

    from ingest.app import create_app

    sock = socket.socket(fileno=fd)  # family, type and proto (TCP) read back from the kernel
    config = uvicorn.Config(create_app(settings), **uvicorn_options(settings))
    uvicorn.Server(config).run(sockets=[sock])  # the same event loop as uvicorn.run picks


def listener(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket whose accepted connections get TCP_NODELAY (see the module doc)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Keeps ``workers`` ingest processes running on one socket until told to stop."""

    def __init__(self, argv: Sequence[str], sock: socket.socket, workers: int, env: dict[str, str]):
        self.argv = list(argv)
        self.sock = sock
        self.workers = workers
        self.env = env
        self.children: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        fd = self.sock.fileno()
        return subprocess.Popen(  # noqa: S603 - our own command
            [*self.argv, "--fd", str(fd)], pass_fds=(fd,), env=self.env
        )

    def stop(self, *_: object) -> None:
        self._stopping = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.children = [self._spawn() for _ in range(self.workers)]
        try:
            while not self._stopping:
                for index, child in enumerate(self.children):
                    if child.poll() is not None and not self._stopping:
                        log.warning(
                            "ingest process %d exited (%s); starting another", child.pid, child.returncode
                        )
                        time.sleep(RESTART_PAUSE)
                        self.children[index] = self._spawn()
                        self.restarts += 1
                time.sleep(0.2)
        finally:
            self._terminate()

    def _terminate(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.sock.close()


def supervise(settings: Settings, host: str, port: int, workers: int) -> None:
    """Bind once, then keep ``workers`` ``python -m ingest --fd`` processes serving the socket."""
    logs.configure(settings)
    if settings.resolved_database_url.startswith("sqlite"):
        log.warning(
            "SQLite takes one writer at a time: %d ingest processes will be slower than one;"
            " scale out on PostgreSQL (CAMPAIGN_DATABASE_URL)",
            workers,
        )
    sock = listener(host, port)
    env = {**os.environ, "CAMPAIGN_REDIS_URL": settings.redis_url}
    argv = [sys.executable, "-m", "ingest"]
    log.info("ingest on http://%s:%d with %d processes (parent %d)", host, port, workers, os.getpid())
    Supervisor(argv, sock, workers, env).run()
