"""Data and secrets are private to their user: folders 0700, files 0600, no writing through links.

The attack that found it: a fresh install left the data folder 0755 and the SQLite file, its
journal and the embedded Redis's append-only file 0644, readable by every local account.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from campaign import files
from campaign.access import users
from campaign.errors import ConfigurationError
from campaign.runtime import Runtime
from campaign.storage import embedded_redis


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_fresh_install_keeps_its_data_private(tmp_path: Path) -> None:
    """The whole embedded default, as `campaign` makes it, with a permissive umask around it."""
    data = tmp_path / "data"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")},
        "CAMPAIGN_DATA_DIR": str(data),
    }
    old = os.umask(0o022)
    try:
        made = subprocess.run(
            [sys.executable, "-m", "cli", "appeal", "add", "--slug", "x", "--title", "X", "--campaign", "c"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        os.umask(old)
    try:
        assert made.returncode == 0, made.stderr
        assert mode(data) == 0o700
        written = [p for p in data.rglob("*") if p.is_file() and not p.is_socket()]
        assert any(p.name.startswith("campaign.sqlite3") for p in written)
        assert any(p.suffix == ".aof" or "appendonly" in str(p) for p in written), written
        for path in written:
            assert mode(path) & 0o077 == 0, f"{path.relative_to(data)} is {oct(mode(path))}"
        for folder in [data, *(p for p in data.rglob("*") if p.is_dir())]:
            assert mode(folder) & 0o077 == 0, f"{folder} is {oct(mode(folder))}"
    finally:
        embedded_redis.stop(data)


def test_an_existing_open_data_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    files.private_dir(folder)
    assert mode(folder) == 0o700


def test_a_secret_is_never_written_through_a_link(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours\n")
    planted = tmp_path / "admin-password.txt"
    planted.symlink_to(elsewhere)
    with pytest.raises(OSError):
        files.write_private(planted, "secret\n")
    assert elsewhere.read_text() == "not yours\n"


def test_an_existing_secret_file_loses_its_open_mode(tmp_path: Path) -> None:
    secret = tmp_path / "admin-password.txt"
    secret.write_text("old\n")
    secret.chmod(0o644)
    files.write_private(secret, "new\n")
    assert mode(secret) == 0o600 and secret.read_text() == "new\n"


def test_the_first_admins_password_refuses_a_planted_link(runtime: Runtime, tmp_path: Path) -> None:
    planted = tmp_path / "admin-password.txt"
    planted.symlink_to(tmp_path / "stolen.txt")
    with pytest.raises(ConfigurationError, match="cannot write the first admin's password"):
        users.first_admin(runtime.engine, planted)
    assert not (tmp_path / "stolen.txt").exists()
