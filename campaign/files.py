"""Files and folders that hold data or secrets: private to the user that runs the system.

Supporters' numbers (encrypted, but still), the keys that decrypt them, the admin's first
password and the embedded Redis's append-only file all live in the data directory.  Each
process sets its umask to 077 (``private_umask``), folders are made 0700 and files 0600, and
a secret is written without following a link someone may have put in its place.
"""

from __future__ import annotations

import os
from pathlib import Path

UMASK = 0o077


def private_umask() -> None:
    """New files 0600 and folders 0700 for this process and every process it starts."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (made, or tightened if it was ours)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a secret to ``path``, mode 0600, never through a symbolic link."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode otherwise
        handle.write(text)
