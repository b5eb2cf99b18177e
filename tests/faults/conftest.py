"""The fault suite's figures, printed in the terminal summary of every run (CI output included)."""

from __future__ import annotations

import pytest

from tests.faults.checks import COLUMNS, FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault suite figures")
    widths = {name: max(len(name), *(len(str(row.get(name, ""))) for row in FIGURES)) for name in COLUMNS}
    terminalreporter.write_line("  ".join(name.ljust(widths[name]) for name in COLUMNS))
    for row in FIGURES:
        terminalreporter.write_line("  ".join(str(row.get(name, "")).ljust(widths[name]) for name in COLUMNS))
    for row in FIGURES:
        if row.get("note"):
            terminalreporter.write_line(f"{row['fault']}: {row['note']}")
