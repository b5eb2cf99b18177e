"""Dependencies: floors at patched releases, nothing unused or undeclared, a complete hashed lock,
and a vulnerability check that fails on a known vulnerability (issue 14, finding 15)."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, packages_distributions, requires, version
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT
from tests.support.osv import OsvApi, advisory

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]
LOCK = ROOT / "requirements.lock"
AUDIT = ROOT / ".ci" / "audit"

RUNTIME_CODE = ("campaign", "cli", "ingest", "dashboard")
DEV_CODE = ("tests", "bench")

# The first release without the known vulnerabilities (streamlit: the first with st.components.v2).
PATCHED = {
    "starlette": "0.49.1",  # CVE-2024-47874 (0.40), CVE-2025-54121 (0.47.2), CVE-2025-62727
    "cryptography": "44.0.1",  # CVE-2024-12797
    "h11": "0.16",  # CVE-2025-43859, through uvicorn
    "streamlit": "1.51",  # dashboard/counter.py: st.components.v2.component
    "aiosmtpd": "1.4.6",  # CVE-2024-27305, CVE-2024-34083
    "pypdf": "6.0",  # CVE-2025-55197
    "pillow": "11.3",  # CVE-2025-48379
}

# Dependencies used without being imported, each with a file and a text in it that shows the use.
USED_WITHOUT_IMPORT = {
    "psycopg": ("campaign/storage/db.py", "postgresql+psycopg"),  # loaded by SQLAlchemy's dialect
    "uharfbuzz": ("campaign/appeals/petition.py", "set_text_shaping"),  # fpdf2 shapes text with it
    "import-linter": (".ci/run", "lint-imports"),
    "mypy": (".ci/run", ".venv/bin/mypy"),
    "ruff": (".ci/run", "ruff check"),
    "pytest-timeout": ("pyproject.toml", "timeout = 300"),
    "pytest-xdist": ("pyproject.toml", "-n auto"),
    "pip-audit": (".ci/audit", '"pip_audit"'),
    "uv": ("dev", "uv pip compile"),
}
# Named only to raise the floor of, or to choose, what uvicorn uses: its metadata must name them.
FOR_UVICORN = {"h11", "httptools", "uvloop"}


def name(requirement: Requirement) -> NormalizedName:
    return canonicalize_name(requirement.name)


def floor(requirement: Requirement) -> Version | None:
    """The lowest release the requirement admits, as far as its lower bounds say."""
    bounds = [Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", "==", "~=")]
    return max(bounds, default=None)


def imported(folders: Iterable[str]) -> set[str]:
    """The top-level modules that the code in ``folders`` imports (absolute imports only)."""
    return set().union(*(_imported_by(folder) for folder in folders))


@functools.cache
def _imported_by(folder: str) -> frozenset[str]:
    modules: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return frozenset(modules)


def distributions(modules: Iterable[str]) -> set[NormalizedName]:
    """The installed distributions that provide ``modules``."""
    provided = _packages_distributions()
    return {canonicalize_name(dist) for module in modules for dist in provided.get(module, [])}


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    """Read once: it scans every installed distribution's files."""
    return dict(packages_distributions())


def applies(requirement: Requirement) -> bool:
    """Whether the requirement's marker holds here (atheris is for 3.11 only)."""
    return requirement.marker is None or requirement.marker.evaluate()


def test_floors_admit_no_release_with_a_known_vulnerability() -> None:
    declared: dict[str, Requirement] = {name(requirement): requirement for requirement in RUNTIME + DEV}
    too_low = {
        package: str(declared[package].specifier)
        for package, patched in PATCHED.items()
        if package not in declared or (floor(declared[package]) or Version("0")) < Version(patched)
    }
    assert not too_low, f"floors below the patched releases {PATCHED}: {too_low}"


def test_every_dependency_is_used() -> None:
    """Runtime dependencies by the application, dev ones by tests, benchmarks or CI; none idle."""
    uvicorn_requires = {name(Requirement(line)) for line in requires("uvicorn") or []}
    for requirements, folders in ((RUNTIME, RUNTIME_CODE), (DEV, DEV_CODE)):
        used = distributions(imported(folders))
        for requirement in filter(applies, requirements):
            package = name(requirement)
            if package in used:
                continue
            if package in FOR_UVICORN:
                assert package in uvicorn_requires, f"{package}: uvicorn does not use it"
                continue
            assert package in USED_WITHOUT_IMPORT, f"{package} is declared but nothing imports it"
            path, text = USED_WITHOUT_IMPORT[package]
            assert text in (ROOT / path).read_text(), f"{package}: {text!r} is no longer in {path}"


def test_every_import_is_declared() -> None:
    """What the code imports comes from a declared dependency, not from another one's dependencies."""
    ours = {*RUNTIME_CODE, *DEV_CODE}
    for requirements, folders in ((RUNTIME, RUNTIME_CODE), (RUNTIME + DEV, RUNTIME_CODE + DEV_CODE)):
        declared = {name(requirement) for requirement in requirements}
        foreign = imported(folders) - ours - set(sys.stdlib_module_names) - {"__future__"}
        undeclared = {module for module in foreign if not distributions([module]) & declared}
        assert not undeclared, f"{'/'.join(folders)} import undeclared packages: {sorted(undeclared)}"


def locked() -> dict[NormalizedName, tuple[Version, int]]:
    """requirements.lock's pins for this interpreter: name -> (version, number of hashes)."""
    pins: dict[NormalizedName, tuple[Version, int]] = {}
    text = LOCK.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pin, _, rest = line.partition(" --hash=")
        requirement, _, marker = pin.partition(";")
        if marker.strip() and not Marker(marker).evaluate():
            continue
        package, _, pinned = requirement.strip().partition("==")
        assert pinned, f"requirements.lock: {requirement!r} is not pinned to one release"
        pins[canonicalize_name(package)] = (Version(pinned), 1 + rest.count(" --hash=") if rest else 0)
    return pins


def test_the_lock_pins_every_dependency_with_hashes_within_the_floors() -> None:
    """requirements.lock follows pyproject.toml: regenerate it with `./dev lock` after a change."""
    pins = locked()
    assert all(hashes for _, hashes in pins.values()), "a pin without hashes"
    for requirement in filter(applies, RUNTIME + DEV):
        assert name(requirement) in pins, f"{requirement} is not in requirements.lock: run ./dev lock"
        pinned, _ = pins[name(requirement)]
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"requirements.lock pins {requirement.name} {pinned}, outside {requirement}: run ./dev lock"
        )
    assert "python-multipart" not in {name(requirement) for requirement in RUNTIME + DEV}


def test_this_environment_is_the_lock() -> None:
    """./dev installed exactly the locked releases (the lock is not decoration)."""
    for package, (pinned, _) in locked().items():
        try:
            present = Version(version(package))
        except PackageNotFoundError:
            pytest.fail(f"{package} {pinned} is locked but not installed: ./dev re-prepares .venv")
        assert present == pinned, f"{package} {present} is installed, the lock says {pinned}"


def run_audit(lock: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(AUDIT), "--lock", str(lock), "--services", "osv", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def small_lock(tmp_path: Path) -> Path:
    """Two of requirements.lock's pins, hashes and all (starlette and h11)."""
    entries = LOCK.read_text().split("\n")
    kept: list[str] = []
    keep = False
    for line in entries:
        if line and not line.startswith(" "):
            keep = line.startswith(("starlette==", "h11=="))
        if keep:
            kept.append(line)
    assert len([line for line in kept if "==" in line]) == 2
    lock = tmp_path / "requirements.lock"
    lock.write_text("\n".join(kept) + "\n")
    return lock


def test_the_audit_fails_on_a_known_vulnerability(small_lock: Path) -> None:
    starlette, _ = locked()[canonicalize_name("starlette")]
    fixed = f"{starlette.major}.{starlette.minor}.{starlette.micro + 1}"
    with OsvApi({"starlette": [advisory("GHSA-test-0000-0000", "starlette", fixed)]}) as osv:
        result = run_audit(small_lock, "--osv-url", osv.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"starlette {starlette}: GHSA-test-0000-0000 (fixed in {fixed})" in result.stdout
    assert {query["package"]["name"] for query in osv.queries} == {"starlette", "h11"}


def test_the_audit_passes_when_the_advisories_name_nothing(small_lock: Path) -> None:
    with OsvApi({"starlette": [advisory("GHSA-test-0000-0001", "starlette", "0.40.0")]}) as osv:
        result = run_audit(small_lock, "--osv-url", osv.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no known vulnerabilities in 2 releases (osv)" in result.stdout


def test_the_audit_says_it_was_skipped_when_no_service_answers(small_lock: Path) -> None:
    with OsvApi({}) as osv:
        closed = osv.url  # the stand-in stops on leaving the block: nothing answers there any more
    result = run_audit(small_lock, "--osv-url", closed, "--timeout", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vulnerability check skipped: no advisory service answered (osv:" in result.stdout
    assert run_audit(small_lock, "--osv-url", closed, "--timeout", "2", "--required").returncode == 2
