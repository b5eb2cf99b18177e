"""Processes the fault suite owns: its PostgreSQL, its Redis, a TCP proxy, ingest and workers.

Everything listens on loopback on free ports, lives in a temporary directory, and is
stopped by its PID; the machine's shared PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import select as selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from campaign.storage import embedded_redis
from tests.conftest import free_port


def wait_for(check: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    assert check(), f"{what}: not met within {timeout:.0f} s"  # type: ignore[operator]


# -- PostgreSQL ---------------------------------------------------------------------------------
def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(found[0]).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb into a temp dir), run as a non-root user if we are root.

    PostgreSQL refuses to run as root, so as root the cluster belongs to ``postgres`` (or
    ``nobody``) and every command runs through ``runuser``.
    """

    def __init__(self) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")
        self.bin = binaries
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cfault-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self.user = pwd.getpwnam(name).pw_name
                    break
            if self.user is None:
                raise RuntimeError("running as root and no postgres/nobody user to run PostgreSQL as")
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.pid: int | None = None

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _alive(self.pid):
                time.sleep(0.1)
            if _alive(self.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# -- Redis --------------------------------------------------------------------------------------
def redis_server_binary() -> str:
    return "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else embedded_redis.executable()


class RedisServer:
    """A redis-server of our own on a free TCP port, no persistence: a restart comes back empty."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        wait_for(self.pings, 10, "redis-server answers")

    def pings(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# -- the database going away ----------------------------------------------------------------------
class TcpProxy:
    """Forwards a local port to PostgreSQL; ``cut`` drops every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        """Copy both ways; when either side closes, close the other (as a dead peer's kernel would)."""
        try:
            while True:
                ready, _, _ = selectors.select([a, b], [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


# -- ingest processes and workers -----------------------------------------------------------------
@dataclass
class Services:
    """``campaign ingest --workers N`` and M ``campaign worker`` processes for one environment."""

    env: dict[str, str]
    workdir: Path
    ingest_processes: int = 2
    port: int = field(default_factory=free_port)
    ingest: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _popen(self, argv: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(self.workdir / log, "ab") as handle:
            return subprocess.Popen(
                [sys.executable, "-m", "cli", *argv],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def start_ingest(self) -> None:
        argv = ["ingest", "--port", str(self.port), "--workers", str(self.ingest_processes), "--no-migrate"]
        self.ingest = self._popen(argv, "ingest.log")
        wait_for(
            lambda: len(self.ingest_pids()) == self.ingest_processes and self._healthy(), 60, "ingest up"
        )

    def _healthy(self) -> bool:
        assert self.ingest is not None
        if self.ingest.poll() is not None:
            raise RuntimeError(f"ingest exited: {self.log('ingest.log')}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        return False

    def ingest_pids(self) -> list[int]:
        """The serving processes (children of the supervisor)."""
        assert self.ingest is not None
        return children_of(self.ingest.pid)

    def start_worker(self, name: str) -> None:
        self.workers[name] = self._popen(["worker", "--name", name], f"worker-{name}.log")

    def log(self, name: str) -> str:
        try:
            return (self.workdir / name).read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def logs_text(self) -> str:
        return "".join(
            (self.workdir / p.name).read_text(errors="replace") for p in self.workdir.glob("*.log")
        )

    def stop(self) -> None:
        processes = [p for p in [self.ingest, *self.workers.values()] if p is not None]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def open_connections(pid: int, port: int) -> int:
    """Established TCP connections that process ``pid`` holds on local ``port``."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
                    count += 1
    return count
