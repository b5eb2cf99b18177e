"""The two HTTP services under load, each its own process on a free loopback port.

Both are started the way production starts ``campaign ingest`` (a fresh interpreter,
``uvicorn.run`` with the same settings) and stopped by their PID only, so a bench run
never leaves anything behind and never signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stack import Stack

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent  # for `-m bench.minimal` outside the project folder
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """SIGTERM by PID (uvicorn then finishes the lifespan), SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process used so far (all its threads); Linux only."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def ingest(stack: Stack) -> Iterator[Server]:
    """The real ``campaign ingest`` (migrations already ran, hence ``--no-migrate``)."""
    port = free_port()
    argv = [sys.executable, "-m", "campaign.cli", "ingest", "--port", str(port), "--no-migrate"]
    with _running("ingest", argv, stack, port, "/healthz") as server:
        yield server


@contextlib.contextmanager
def minimal(stack: Stack) -> Iterator[Server]:
    """The minimal ASGI endpoint of ``bench.minimal``."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.minimal", "--port", str(port)]
    with _running("minimal", argv, stack, port, "/") as server:
        yield server


@contextlib.contextmanager
def _running(name: str, argv: list[str], stack: Stack, port: int, ready_path: str) -> Iterator[Server]:
    log = stack.root / f"{name}.log"
    env = stack.env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            # Not the project folder: a .env there must not configure the service.
            cwd=stack.root,
        )
    server = Server(name, process, f"http://{HOST}:{port}", log)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        server.stop()


def _wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + path, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer within {START_TIMEOUT:.0f} s:\n{server.log_tail()}")
