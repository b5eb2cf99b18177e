"""Offline demonstrations: created from the dashboard, the CLI, the API or a CSV file.

Coordinates come from the offline gazetteer when only the city and country are given.
A CSV import reports each bad row with its line and reason and keeps the rest; a
demonstration already there (same campaign, city, start and title) is updated, not doubled.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy import update as sql_update

from campaign.activity.geo import check_coordinates, country_code, locate
from campaign.csvread import Lines, header_of
from campaign.errors import BadRequest, NotFound
from campaign.storage.db import dialect_insert
from campaign.storage.models import Campaign, Demonstration, utcnow

CSV_COLUMNS = ("campaign", "title", "city", "country", "starts_at")
OPTIONAL_COLUMNS = ("latitude", "longitude", "attendance", "organiser", "links", "photos")


@dataclass
class DemonstrationInput:
    campaign: str
    title: str
    city: str
    country: str
    starts_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    attendance: int | None = None
    organiser: str = ""
    links: list[str] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    source: str = "cli"


@dataclass
class DemonstrationImportReport:
    """What a CSV import of demonstrations did: rows read, rows saved, errors by line."""

    rows: int = 0
    saved: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _check_url(url: str) -> str:
    if not url.startswith(("https://", "http://")) or len(url) > 500 or any(c in url for c in "\"'<> "):
        raise BadRequest(f"link {url[:60]!r} is not an http(s) URL")
    return url


def prepare(item: DemonstrationInput) -> dict[str, Any]:
    """Validate one demonstration and fill in its coordinates; raise BadRequest with the reason."""
    title, city = item.title.strip(), item.city.strip()
    if not title or len(title) > 200:
        raise BadRequest("title: 1 to 200 characters")
    if not city or len(city) > 120:
        raise BadRequest("city: 1 to 120 characters")
    code = country_code(item.country)
    if item.starts_at.tzinfo is None:
        raise BadRequest("starts_at needs a time zone (e.g. 2008-03-01T14:00:00+01:00)")
    try:
        starts_at = item.starts_at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first day Python knows
        raise BadRequest("starts_at is out of range") from None
    if item.attendance is not None and not 0 <= item.attendance <= 10_000_000:
        raise BadRequest("attendance: a number from 0 to 10,000,000")
    if item.latitude is None or item.longitude is None:
        latitude, longitude = locate(city, code)
    else:
        latitude, longitude = check_coordinates(item.latitude, item.longitude)
    return {
        "title": title,
        "city": city,
        "country": code,
        "latitude": latitude,
        "longitude": longitude,
        "starts_at": starts_at,
        "attendance": item.attendance,
        "organiser": item.organiser.strip()[:200],
        "links": [_check_url(u) for u in item.links],
        "photos": [_check_url(u) for u in item.photos],
        "source": item.source,
    }


def save(engine: Engine, items: list[DemonstrationInput]) -> int:
    """Insert or update demonstrations (matched on campaign, city, start and title)."""
    if not items:
        return 0
    with engine.begin() as connection:
        campaigns = {slug: cid for cid, slug in connection.execute(select(Campaign.id, Campaign.slug))}
        rows = []
        for item in items:
            if item.campaign not in campaigns:
                raise NotFound(f"no campaign {item.campaign!r}")
            rows.append({"campaign_id": campaigns[item.campaign], **prepare(item), "updated_at": utcnow()})
        table = Demonstration.__table__
        insert = dialect_insert(connection, table)
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=[table.c.campaign_id, table.c.city, table.c.starts_at, table.c.title],
                set_={
                    name: insert.excluded[name]
                    for name in (
                        "country",
                        "latitude",
                        "longitude",
                        "attendance",
                        "organiser",
                        "links",
                        "photos",
                        "updated_at",
                    )
                },
            ),
            rows,
        )
    return len(rows)


def update(engine: Engine, demonstration_id: int, **changes: Any) -> None:
    """Edit one demonstration (from the staff form); coordinates follow a changed city."""
    with engine.begin() as connection:
        row = (
            connection.execute(select(Demonstration).where(Demonstration.id == demonstration_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no demonstration {demonstration_id}")
        campaign = connection.scalar(select(Campaign.slug).where(Campaign.id == row["campaign_id"]))
        merged = {
            k: row[k]
            for k in ("title", "city", "country", "starts_at", "attendance", "organiser", "links", "photos")
        }
        merged.update(changes)
        if "city" in changes or "country" in changes:
            merged.setdefault("latitude", changes.get("latitude"))
            merged.setdefault("longitude", changes.get("longitude"))
        else:
            merged["latitude"] = changes.get("latitude", row["latitude"])
            merged["longitude"] = changes.get("longitude", row["longitude"])
        values = prepare(DemonstrationInput(campaign=str(campaign), source=row["source"], **merged))
        values["updated_at"] = utcnow()
        connection.execute(
            sql_update(Demonstration).where(Demonstration.id == demonstration_id).values(**values)
        )


def parse_time(text: str) -> datetime:
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"starts_at {value!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def import_csv(engine: Engine, path: Path, source: str = "csv") -> DemonstrationImportReport:
    """Import demonstrations from CSV; each bad row is reported by line and reason."""
    report = DemonstrationImportReport()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise BadRequest(f"{path}: {error.strerror}") from None
    with handle:
        lines = Lines(handle)
        reader = csv.DictReader(lines)
        header = [name.strip().lower() for name in header_of(reader)]
        missing = [name for name in CSV_COLUMNS if name not in header]
        if missing:
            raise BadRequest(
                f"line 1: the header lacks {', '.join(missing)} (needs {', '.join(CSV_COLUMNS)})"
            )
        reader.fieldnames = header
        try:
            for row in reader:
                report.rows += 1
                line = reader.line_num
                try:
                    report.saved += save(
                        engine, [_from_row({k: (v or "").strip() for k, v in row.items() if k}, source)]
                    )
                except (BadRequest, NotFound) as error:  # an unknown campaign is a bad row too
                    report.errors.append((line, error.message))
        except (UnicodeDecodeError, csv.Error) as error:
            report.errors.append(
                (report.rows + 2, f"unreadable ({type(error).__name__}); nothing after this line was read")
            )
    report.errors = sorted(report.errors + lines.bad)
    return report


def _from_row(row: dict[str, str], source: str) -> DemonstrationInput:
    def number(name: str, kind: type) -> Any:
        text = row.get(name, "")
        if not text:
            return None
        try:
            return kind(text.replace(",", "") if kind is int else text)
        except ValueError:
            raise BadRequest(f"{name} {text!r} is not a number") from None

    return DemonstrationInput(
        campaign=row["campaign"],
        title=row["title"],
        city=row["city"],
        country=row["country"],
        starts_at=parse_time(row["starts_at"]),
        latitude=number("latitude", float),
        longitude=number("longitude", float),
        attendance=number("attendance", int),
        organiser=row.get("organiser", ""),
        links=[u for u in row.get("links", "").split() if u],
        photos=[u for u in row.get("photos", "").split() if u],
        source=source,
    )


def listing(engine: Engine, campaign: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        query = (
            select(Demonstration, Campaign.slug.label("campaign"))
            .join(Campaign, Campaign.id == Demonstration.campaign_id)
            .order_by(Demonstration.starts_at)
        )
        if campaign:
            query = query.where(Campaign.slug == campaign)
        return [dict(row) for row in connection.execute(query).mappings()]
