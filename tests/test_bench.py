"""The bench's own switches: the smoke sizes CI runs, and what counts as a section not finishing."""

from __future__ import annotations

import sys

import pytest

from bench import __main__ as bench


def parsed(monkeypatch: pytest.MonkeyPatch, *argv: str) -> object:
    monkeypatch.setattr(sys, "argv", ["python -m bench", *argv])
    return bench.parse_args()


def test_smoke_runs_every_default_section_with_tiny_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parsed(monkeypatch, "--smoke")
    assert args.only == list(bench.DEFAULT_SECTIONS)
    assert args.duration == 1.0 and args.rows == 1_000 and args.viewers == 20
    assert args.subscribers == 2_000 and args.history_rows == 5_000 and args.screens == [0, 1]


def test_fanout_watches_an_appeals_stream_and_its_campaigns_beside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parsed(monkeypatch, "--smoke").stream == ["appeal", "campaign"]
    assert parsed(monkeypatch, "--stream", "all, appeal,all").stream == ["all", "appeal"]
    with pytest.raises(SystemExit):
        parsed(monkeypatch, "--stream", "appeal,nowhere")


def test_smoke_and_quick_exclude_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        parsed(monkeypatch, "--smoke", "--quick")


def test_a_figure_below_target_is_not_a_failure_but_an_unfinished_section_is() -> None:
    fresh = {"non_2xx": 0, "endpoints_check": "ok", "p99_ms": 900.0, "met": False}
    assert bench.unfinished("freshness", fresh) == ""
    assert "401" in bench.unfinished("freshness", fresh | {"endpoints_check": "total.txt answered 401"})
    assert "Timeout" in bench.unfinished("screens", {"error": "TimeoutError: Page.wait_for_selector"})
    fanout = {"error": "", "connected": 3, "viewers": 20}
    assert bench.unfinished("fanout", fanout) == "3 of 20 viewers connected"
    beside = {"error": "", "connected": 20, "viewers": 20, "others": {"campaign": fanout}}
    assert bench.unfinished("fanout", beside) == "campaign stream: 3 of 20 viewers connected"
    history = {"rows": 5, "SQLite": {"check": "ok"}, "PostgreSQL": {"check": "MISMATCH 4 != 5"}}
    assert "PostgreSQL" in bench.unfinished("history", history)


def test_a_crashed_section_is_reported_the_next_runs_and_the_exit_is_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash(*_: object) -> dict[str, object]:
        raise RuntimeError("made to crash")

    ran: list[str] = []

    def imported(*_: object) -> dict[str, object]:
        ran.append("import")
        return {"ours": {"db_check": "ok"}}

    monkeypatch.setattr(bench, "bench_webhooks", crash)
    monkeypatch.setattr(bench, "bench_import", imported)
    monkeypatch.setattr(bench, "ratios", lambda results: {})
    monkeypatch.setattr(bench.report, "save", lambda results: tmp_path)
    monkeypatch.setattr(sys, "argv", ["python -m bench", "--smoke", "--only", "webhooks,import"])
    with pytest.raises(SystemExit) as stopped:
        bench.main()
    assert stopped.value.code == 1
    assert ran == ["import"]
    assert "webhooks: crashed: RuntimeError: made to crash" in capsys.readouterr().err
