"""The bench's own switches: the smoke sizes CI runs, and what counts as a section not finishing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import __main__ as bench
from bench import floor, imports, webhooks


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


def test_the_webhook_floor_times_real_signatures_of_the_bench_pool(tmp_path: Path) -> None:
    made = {"public_url": "https://campaign.example.org", "number_prefix": "+3161", "short_code": "4777"}
    pool = webhooks.build_pool(tmp_path / "run.pool", 50, token="right", **made)
    url = made["public_url"] + webhooks.PATH
    steps = floor.webhook_floor(pool.path, "right", url, "Thank you!")
    assert steps.sample == 50 and all(us > 0 for us in steps.steps.values())
    assert steps.per_item_us == pytest.approx(sum(steps.steps.values()))
    with pytest.raises(AssertionError, match="signature"):  # the step checks, it does not only hash
        floor.webhook_floor(pool.path, "wrong", url, "Thank you!")


def test_the_import_ceiling_is_the_slower_of_one_writer_and_the_steps_shared_by_the_cores(
    tmp_path: Path,
) -> None:
    imports.write_csv(tmp_path / "lines.csv", 40, "hassan")
    steps = floor.import_floor(tmp_path / "lines.csv")
    assert steps.sample == 40 and "encrypt (Fernet)" in steps.steps
    thirty = floor.Floor({"all": 36.0}, 1)  # with 4 us per raw row: 40 us of work per line
    assert floor.import_ceiling(thirty, 250_000, 2) == pytest.approx(50_000)  # 20 us per line on 2 cores
    assert floor.import_ceiling(thirty, 250_000, 16) == pytest.approx(250_000)  # one writer at raw speed
