"""Demonstrations: located offline, imported from CSV with each bad row reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign.activity import demonstrations
from campaign.activity.demonstrations import DemonstrationInput
from campaign.errors import BadRequest
from campaign.runtime import Runtime

pytestmark = pytest.mark.usefixtures("kenya")
START = datetime(2008, 3, 1, 14, 0, tzinfo=UTC)


def test_city_and_country_are_enough(runtime: Runtime) -> None:
    demonstrations.save(
        runtime.engine, [DemonstrationInput("kenya", "Vigil", "Nairobi", "Kenya", START, attendance=800)]
    )
    (row,) = demonstrations.listing(runtime.engine, "kenya")
    assert (row["country"], round(row["latitude"], 2), round(row["longitude"], 2)) == ("KE", -1.28, 36.82)
    assert row["attendance"] == 800


def test_saving_again_updates_instead_of_doubling(runtime: Runtime) -> None:
    for attendance in (100, 250):
        demonstrations.save(
            runtime.engine,
            [DemonstrationInput("kenya", "March", "London", "GB", START, attendance=attendance)],
        )
    rows = demonstrations.listing(runtime.engine)
    assert [r["attendance"] for r in rows] == [250]
    demonstrations.update(runtime.engine, rows[0]["id"], city="Manchester")
    (moved,) = demonstrations.listing(runtime.engine)
    assert moved["city"] == "Manchester" and round(moved["latitude"], 1) == 53.5


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (DemonstrationInput("kenya", "", "Nairobi", "KE", START), "title"),
        (DemonstrationInput("kenya", "x", "Atlantis", "KE", START), "city 'Atlantis' not found in KE"),
        (DemonstrationInput("kenya", "x", "Nairobi", "Narnia", START), "unknown country 'Narnia'"),
        (DemonstrationInput("kenya", "x", "Nairobi", "KE", START.replace(tzinfo=None)), "time zone"),
        (DemonstrationInput("kenya", "x", "Sea", "KE", START, latitude=95, longitude=0), "not on Earth"),
        (DemonstrationInput("kenya", "x", "Nairobi", "KE", START, attendance=-5), "attendance"),
        (DemonstrationInput("kenya", "x", "Nairobi", "KE", START, links=["javascript:alert(1)"]), "http"),
    ],
)
def test_bad_demonstrations_name_the_problem(
    runtime: Runtime, item: DemonstrationInput, message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        demonstrations.save(runtime.engine, [item])


def test_csv_import_reports_lines(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "demos.csv"
    path.write_text(
        "campaign,title,city,country,starts_at,attendance,latitude,longitude\n"
        'kenya,Vigil,Nairobi,KE,2008-03-01T14:00:00+03:00,"1,200",,\n'
        "kenya,March,Den Haag,Netherlands,2008-03-01T13:00:00+01:00,300,,\n"
        "kenya,Sit-in,Nowhere Town,KE,2008-03-01T13:00:00Z,50,,\n"
        "kenya,Rally,Toronto,CA,yesterday,50,,\n"
        "kenya,Picnic,Somewhere,CA,2008-03-01T13:00:00Z,many,,\n"
        "kenya,Boat,Lake,KE,2008-03-01T13:00:00Z,20,-1.0,36.0\n",
        encoding="utf-8",
    )
    report = demonstrations.import_csv(runtime.engine, path)
    assert (report.rows, report.saved) == (6, 3)
    assert [line for line, _ in report.errors] == [4, 5, 6]
    assert (
        "Nowhere Town" in report.errors[0][1]
        and "ISO 8601" in report.errors[1][1]
        and "number" in report.errors[2][1]
    )
    assert {r["attendance"] for r in demonstrations.listing(runtime.engine)} == {1200, 300, 20}
