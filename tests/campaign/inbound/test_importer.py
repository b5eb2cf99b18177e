"""The signature import in worker processes: the same report as line by line, and idempotent."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from campaign.appeals import registry as appeals
from campaign.inbound import importer
from campaign.runtime import Runtime
from campaign.storage.models import Signature, Supporter, Tally


def write(path: Path, rows: int) -> None:
    """``rows`` lines over several chunks, every 97th bad in one way or another."""
    lines = ["appeal,phone,signed_at,channel"]
    for index in range(rows):
        phone, appeal, moment = f"+3162{index:07d}", "hassan", "2008-02-27T20:15:00+01:00"
        if index % 97 == 5:
            phone = "not a number"
        elif index % 97 == 50:
            appeal = "nobody"
        elif index % 97 == 70:
            moment = "yesterday"
        lines.append(f"{appeal},{phone},{moment},sms")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def count(runtime: Runtime, *where: object) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Signature).where(*where)) or 0)


def test_workers_import_what_one_process_imports(runtime: Runtime, tmp_path: Path) -> None:
    appeals.add_appeal(runtime.engine, slug="hassan", title="Hassan", campaign="torture")
    rows = importer.CHUNK * 3 + 17
    path = tmp_path / "big.csv"
    write(path, rows)
    seen: list[int] = []
    report = importer.import_signatures(runtime.recorder, runtime.vault, path, seen.append, workers=2)
    bad = [line for line in range(2, rows + 2) if (line - 2) % 97 in (5, 50, 70)]
    assert [line for line, _ in report.errors] == bad
    assert report.imported == rows - len(bad) == count(runtime)
    assert seen == sorted(seen) and seen[-1] == rows + 1  # progress by line, to the last
    reasons = dict(report.errors)
    assert "could not be read" in reasons[7] and "no appeal 'nobody'" in reasons[52]
    with runtime.engine.connect() as connection:
        total = connection.scalar(select(Tally.count).where(Tally.kind == "total"))
        assert total == report.imported
        assert connection.scalar(select(func.count()).select_from(Supporter)) == report.imported

    again = importer.import_signatures(runtime.recorder, runtime.vault, path, workers=1)
    assert again.imported == 0 and again.already_there == report.imported
    assert again.errors == report.errors
    assert count(runtime) == report.imported
