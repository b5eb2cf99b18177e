"""The layering is a checked contract: import-linter's contracts (pyproject) and the migrations' rule."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MIGRATIONS = ROOT / "campaign" / "storage" / "migrations" / "versions"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_import_breaks_the_contract_it_crosses(tmp_path: Path) -> None:
    """The contracts are not vacuous: the core importing the dashboard fails, naming the contract."""
    for package in ("campaign", "cli", "ingest", "dashboard"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    errors = tmp_path / "campaign" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport dashboard.charts  # noqa: E402\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "The core imports no web framework" in result.stdout and "BROKEN" in result.stdout
    assert "campaign.errors -> dashboard.charts" in result.stdout


def test_migrations_import_only_the_column_types() -> None:
    """An old migration must run the same way years later: no application code but the types."""
    ours = ("campaign", "cli", "ingest", "dashboard")
    for migration in sorted(MIGRATIONS.glob("*.py")):
        for node in ast.walk(ast.parse(migration.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                application = name.split(".")[0] in ours
                assert not application or name == "campaign.storage.types", f"{migration.name} imports {name}"
