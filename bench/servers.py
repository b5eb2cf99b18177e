"""The services under test, each its own process on a free loopback port.

The ingest and the minimal endpoint are started the way production starts ``campaign
ingest`` (a fresh interpreter, ``uvicorn.run`` with the same settings), the dashboard
as ``campaign dashboard``; all are stopped by their PIDs only, so a bench run never
leaves anything behind and never signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import proc
from bench.stack import Stack

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent  # for `-m bench.minimal` outside the project folder
START_TIMEOUT = 30.0
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


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
        """User + system CPU time the process and its children used so far; Linux only."""
        if proc.cpu_seconds(self.process.pid) is None:
            return None
        return proc.tree_cpu_seconds(self.process.pid)

    def log_problems(self) -> str:
        """ "none", or how many errors the service logged so far and the most frequent one.

        An error is a final exception line of a traceback (not a cause that another
        exception line follows) or an ``ERROR:`` line without a traceback.
        """
        try:
            rows = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "log unreadable"
        errors: Counter[str] = Counter()
        for index, row in enumerate(rows):
            if not row or row[0].isspace() or row.startswith(("Traceback", "The above", "During handling")):
                continue
            following = next((r for r in rows[index + 1 : index + 3] if r), "")
            if following.startswith(("The above", "During handling")):
                continue  # a cause; the exception it led to is counted
            if EXCEPTION_LINE.match(row):
                errors[row[:160]] += 1
        if not errors:
            return "none"
        worst, count = errors.most_common(1)[0]
        return f"{sum(errors.values())} errors; {count} x {worst!r}"

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def ingest(stack: Stack, workers: int = 1) -> Iterator[Server]:
    """The real ``campaign ingest`` (migrations already ran, hence ``--no-migrate``)."""
    port = free_port()
    argv = [sys.executable, "-m", "cli", "ingest", "--port", str(port), "--no-migrate"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    with _running("ingest", argv, stack, port, "/healthz", processes=workers) as server:
        yield server


@contextlib.contextmanager
def minimal(stack: Stack, workers: int = 1) -> Iterator[Server]:
    """The minimal ASGI endpoint of ``bench.minimal``."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.minimal", "--port", str(port), "--workers", str(workers)]
    with _running("minimal", argv, stack, port, "/", processes=workers) as server:
        yield server


@contextlib.contextmanager
def worker(stack: Stack) -> Iterator[Server]:
    """A background worker (``campaign worker``); ready once it runs."""
    argv = [sys.executable, "-m", "cli", "worker", "--name", "bench"]
    log = stack.root / "worker.log"
    env = stack.env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    with open(log, "wb") as handle:
        process = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=stack.root)
    server = Server("worker", process, "", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "started" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited at start:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def sms_standin(stack: Stack) -> Iterator[Server]:
    """The SMS provider stand-in of ``tests.support.sms_fast`` (no rate limit)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.sms_fast", "--port", str(port)]
    with _running("sms-standin", argv, stack, port, "/") as server:
        yield server


@contextlib.contextmanager
def dashboard(stack: Stack) -> Iterator[Server]:
    """``campaign dashboard``: the command runs Streamlit as its child process.

    Ready once Streamlit's health check answers.  Stopping SIGTERMs the command's
    descendants (Streamlit) by PID first: the command itself does not pass the
    signal on, so stopping only its PID would leave Streamlit running.
    """
    port = free_port()
    argv = [sys.executable, "-m", "cli", "dashboard", "--port", str(port)]
    with _running("dashboard", argv, stack, port, "/_stcore/health") as server:
        try:
            yield server
        finally:
            stop_descendants(server.process.pid)


def stop_descendants(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM every process below ``pid`` by its PID, SIGKILL those still there after ``timeout``."""
    children = proc.descendants(pid)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(child) for child in children):
        time.sleep(0.1)
    for child in children:
        if _alive(child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running (not a zombie waiting for its parent)."""
    state = proc.state(pid)
    return state is not None and state != "Z"


@contextlib.contextmanager
def _running(
    name: str, argv: list[str], stack: Stack, port: int, ready_path: str, processes: int = 1
) -> Iterator[Server]:
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
        deadline = time.monotonic() + START_TIMEOUT  # every process of several serving
        while processes > 1 and len(proc.descendants(process.pid)) < processes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: fewer than {processes} processes:\n{server.log_tail()}")
            time.sleep(0.1)
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
