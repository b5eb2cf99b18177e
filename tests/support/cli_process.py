"""The `campaign` command in a process of its own, as a person runs it, without paying for its
imports every time.

``python -m cli`` spends about 1.5 s of CPU importing SQLAlchemy, pydantic, Redis and the
project before it does anything, and the suite runs hundreds of commands. So each test process
keeps one *zygote*: a process that has imported those libraries and the ``campaign`` package
once and does nothing else. Every command is a fork of it that takes the test's environment,
working directory and standard streams, imports the ``cli`` package afresh (its consoles read
COLUMNS and the like from that environment) and runs it the way ``python -m cli`` does; when it
ends, its exit status, output and error output are the command's.

What differs from a fresh interpreter is only what was imported before the fork (never used
there). Tests about the process itself (the entry point, file modes under a umask, servers
that run until stopped) start ``python -m cli`` directly.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, "-m", "cli", *args], capture_output=True, text=True, ...)``."""
    return _zygote().run(list(args), dict(os.environ if env is None else env), cwd, input, timeout)


class _Zygote:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cli_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        self.lock = threading.Lock()  # one command at a time: requests and answers share a pipe
        self.ready = self._answer(60.0, None)  # {"ready": true} once the imports are done

    def run(
        self, args: list[str], env: dict[str, str], cwd: object, stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self.lock, tempfile.TemporaryDirectory(prefix="cli-") as folder:
            streams = {name: Path(folder, name) for name in ("stdin", "stdout", "stderr")}
            streams["stdin"].write_text(stdin or "", encoding="utf-8")
            request = {
                "args": args,
                "env": env,
                "cwd": os.fspath(cwd if cwd is not None else os.getcwd()),
                **{name: str(path) for name, path in streams.items()},
            }
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = int(self._answer(10.0, None)["pid"])
            try:
                status = int(self._answer(timeout, pid)["status"])
            except subprocess.TimeoutExpired:
                self._answer(10.0, None)  # the killed command's status
                raise subprocess.TimeoutExpired(
                    ["python", "-m", "cli", *args],
                    timeout,
                    streams["stdout"].read_text("utf-8", "replace"),
                    streams["stderr"].read_text("utf-8", "replace"),
                ) from None
            return subprocess.CompletedProcess(
                ["python", "-m", "cli", *args],
                status,
                streams["stdout"].read_text("utf-8", "replace"),
                streams["stderr"].read_text("utf-8", "replace"),
            )

    def _answer(self, timeout: float, pid: int | None) -> dict[str, object]:
        """The zygote's next line; past ``timeout``, the command ``pid`` is killed."""
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                if pid is None:
                    raise RuntimeError("the CLI zygote does not answer")
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired("cli", timeout)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the CLI zygote ended (status {self.process.wait()})")
        answer: dict[str, object] = json.loads(line)
        return answer

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


_started: _Zygote | None = None


def _zygote() -> _Zygote:
    global _started
    if _started is None or _started.process.poll() is not None:
        _started = _Zygote()
        atexit.register(_started.stop)
    return _started


# -- the zygote itself ---------------------------------------------------------------------------


def _serve() -> None:
    import cli.main  # noqa: F401 - every command's imports, paid once

    # The CLI's own modules are imported by each command: their consoles and options read the
    # command's environment, not this one's.
    for name in [name for name in sys.modules if name == "cli" or name.startswith("cli.")]:
        del sys.modules[name]
    _say({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _command(request)  # ends this process, never returns here
        _say({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _say({"status": os.waitstatus_to_exitcode(status)})


def _say(answer: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def _command(request: dict[str, Any]) -> None:
    """In the forked child: become ``python -m cli ARGS`` with the request's surroundings."""
    import runpy
    import traceback

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, name, flags in (
        (0, "stdin", os.O_RDONLY),
        (1, "stdout", os.O_WRONLY | os.O_CREAT),
        (2, "stderr", os.O_WRONLY | os.O_CREAT),
    ):
        opened = os.open(request[name], flags)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.argv = ["-m", *request["args"]]
    sys.path[0] = request["cwd"]  # as for `python -m` started there
    status: object = 0
    try:
        runpy.run_module("cli", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        status = exit_.code
    except BaseException:  # as the interpreter does with an uncaught exception
        traceback.print_exc()
        status = 1
    # What the interpreter's exit does for the command (wait for its threads, run its atexit
    # handlers, flush), without tearing down the modules imported before the fork: that alone
    # costs a third of a second.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status or 0)


if __name__ == "__main__":
    _serve()
