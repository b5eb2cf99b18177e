"""A bounded coverage-guided run (atheris) over the untrusted-bytes parsers, when atheris is there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TESTDATA

pytest.importorskip("atheris")
RUNS = int(os.environ.get("CAMPAIGN_ATHERIS_RUNS", "20000"))


def test_parsers_survive_coverage_guided_fuzzing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"  # seeded with the captured payloads; the fuzzer adds to it
    corpus.mkdir()
    for sample in TESTDATA.glob("*/*"):
        shutil.copy(sample, corpus / f"{sample.parent.name}-{sample.name}")
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.atheris_parsers", f"-runs={RUNS}", "-max_len=4096", str(corpus)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done" in result.stderr
