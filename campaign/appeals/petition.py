"""The petition of an appeal: its figures from the database, as a PDF and as a CSV.

What the target authority receives: the appeal (title, person, SMS text, target), how many
people signed, from which countries, on which days, and over which period.  Nothing about
any one signer: no number, no hash, no time of a single signature (a day with one
signature shows only that one person signed that day).

The figures are read in one SQL statement over the ``signatures`` table, so the total,
the countries and the days come from one snapshot and always add up; they are the same
rows the live tally counts.  Days are the organisation's (``CAMPAIGN_TIMEZONE``).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Integer, String, cast, func, literal, select, union_all

from campaign import cells
from campaign.activity.geo import country_name
from campaign.appeals.registry import Target
from campaign.errors import NotFound
from campaign.storage.models import Appeal, Campaign, Signature, utcnow

FONTS = Path(__file__).parent / "fonts"  # DejaVu Sans (free licence): Latin, Greek, Cyrillic, Arabic, ...
COMPLEX_SCRIPTS = 0x0590  # Hebrew, Arabic, Indic, ... and above: need shaping; Latin to Cyrillic do not
CSV_COLUMNS = ("figure", "key", "name", "signatures")


@dataclass(frozen=True)
class CountryCount:
    code: str
    name: str
    signatures: int


@dataclass(frozen=True)
class Figures:
    """An appeal's petition figures at one moment."""

    slug: str
    title: str
    person: str
    sms_text: str
    campaign: str
    target: Target
    total: int
    countries: tuple[CountryCount, ...]  # most signatures first
    days: tuple[tuple[date, int], ...]  # earliest first; only days with signatures
    first: datetime | None  # the period covered (UTC)
    last: datetime | None
    as_of: datetime
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def period(self) -> str:
        """The period covered, in words, in the organisation's time zone."""
        if self.first is None or self.last is None:
            return "no signatures yet"
        start, end = self.first.astimezone(self.tz).date(), self.last.astimezone(self.tz).date()
        return _day(start) if start == end else f"{_day(start)} to {_day(end)}"

    def period_phrase(self) -> str:
        """The period for a sentence: "on 30 November 2026", "from 29 to 30 November 2026"."""
        if self.first is None or self.last is None:
            return "so far"
        return ("on " if "to" not in self.period() else "from ") + self.period()

    def base_name(self) -> str:
        """A file name without extension: petition-hassan-2026-12-01."""
        return f"petition-{self.slug}-{self.as_of.astimezone(self.tz):%Y-%m-%d}"


@dataclass(frozen=True)
class Petition:
    """The figures and both documents made from them."""

    figures: Figures
    pdf: bytes
    csv: bytes

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def csv_sha256(self) -> str:
        return hashlib.sha256(self.csv).hexdigest()

    @property
    def pdf_name(self) -> str:
        return self.figures.base_name() + ".pdf"

    @property
    def csv_name(self) -> str:
        return self.figures.base_name() + ".csv"


def figures(engine: Engine, slug: str, timezone: str = "UTC") -> Figures:
    """The appeal's figures now, from the signatures table."""
    with engine.connect() as connection:
        appeal = connection.execute(
            select(
                Appeal.id,
                Appeal.slug,
                Appeal.title,
                Appeal.person,
                Appeal.sms_text,
                Appeal.target_authority,
                Appeal.target_email,
                Appeal.target_fax,
                Campaign.name.label("campaign"),
            )
            .join(Campaign, Campaign.id == Appeal.campaign_id)
            .where(Appeal.slug == slug)
        ).first()
        if appeal is None:
            raise NotFound(f"no appeal {slug!r}")
        as_of = utcnow()
        day = _day_bucket(connection, timezone)
        where = Signature.appeal_id == appeal.id
        first, last = func.min(Signature.received_at), func.max(Signature.received_at)
        by_country = select(
            literal("country").label("figure"), Signature.country.label("key"), func.count(), first, last
        ).where(where)
        by_day = select(literal("day"), day, func.count(), first, last).where(where)
        # One statement: one snapshot, so countries and days add up to the same total.
        rows = connection.execute(
            union_all(by_country.group_by(Signature.country), by_day.group_by(day))
        ).all()
    countries = sorted(
        (CountryCount(key, country_name(key), n) for kind, key, n, _, _ in rows if kind == "country"),
        key=lambda c: (-c.signatures, c.name),
    )
    per_day: Counter[date] = Counter()
    for kind, key, n, _, _ in rows:
        if kind == "day":
            per_day[_bucket_day(key, timezone)] += n
    days = sorted(per_day.items())
    starts = [moment for r in rows if r[0] == "country" and (moment := _utc(r[3])) is not None]
    ends = [moment for r in rows if r[0] == "country" and (moment := _utc(r[4])) is not None]
    return Figures(
        slug=appeal.slug,
        title=appeal.title,
        person=appeal.person,
        sms_text=appeal.sms_text,
        campaign=appeal.campaign,
        target=Target(appeal.target_authority, appeal.target_email, appeal.target_fax),
        total=sum(c.signatures for c in countries),
        countries=tuple(countries),
        days=tuple(days),
        first=min(starts) if starts else None,
        last=max(ends) if ends else None,
        as_of=as_of,
        timezone=timezone,
    )


def make(engine: Engine, slug: str, timezone: str = "UTC") -> Petition:
    """The figures now, and the PDF and CSV of them."""
    found = figures(engine, slug, timezone)
    return Petition(found, render_pdf(found), render_csv(found))


# -- the documents ---------------------------------------------------------------------------------


def render_csv(figures: Figures) -> bytes:
    """The same figures as the PDF, one per row: ``figure,key,name,signatures``.

    Rows: appeal, target, period_start, period_end (ISO times, UTC), as_of, total, then one
    ``country`` row per country (ISO code, name) and one ``day`` row per day (ISO date).
    """
    rows: list[list[Any]] = [
        list(CSV_COLUMNS),
        ["appeal", figures.slug, figures.title, ""],
        ["person", "", figures.person, ""],
        ["target", "", figures.target.name, ""],
        ["period_start", _iso(figures.first), "", ""],
        ["period_end", _iso(figures.last), "", ""],
        ["as_of", _iso(figures.as_of), "", ""],
        ["timezone", figures.timezone, "", ""],
        ["total", "", "", figures.total],
        *(["country", country.code, country.name, country.signatures] for country in figures.countries),
        *(["day", day.isoformat(), "", count] for day, count in figures.days),
    ]
    out = io.StringIO()
    # titles and names come from people: no cell may run as a formula in a spreadsheet
    csv.writer(out, lineterminator="\r\n").writerows(cells.safe_row(row) for row in rows)
    return out.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet programs read UTF-8


def read_csv(data: bytes) -> dict[str, Any]:
    """The figures back from ``render_csv``: what a spreadsheet or a test reads."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    single = {r["figure"]: r for r in rows if r["figure"] not in {"country", "day"}}
    return {
        "slug": single["appeal"]["key"],
        "total": int(single["total"]["signatures"]),
        "period_start": single["period_start"]["key"],
        "period_end": single["period_end"]["key"],
        "countries": {r["key"]: int(r["signatures"]) for r in rows if r["figure"] == "country"},
        "days": {r["key"]: int(r["signatures"]) for r in rows if r["figure"] == "day"},
    }


def render_pdf(figures: Figures) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    tz = figures.tz
    own = (figures.title, figures.person, figures.sms_text, figures.target.name, figures.campaign)
    complex_script = any(ord(c) >= COMPLEX_SCRIPTS for text in own for c in text)
    footer = f"{figures.title} · {figures.total:,} signatures · page "

    class PetitionPDF(FPDF):
        def footer(self) -> None:  # on every page: what this is, and how many pages it has
            self.set_y(-12)
            self.set_font("DejaVu", "", 8)
            self.set_text_color(90, 99, 114)
            shaping = self.text_shaping
            self.set_text_shaping(complex_script)
            self.cell(0, 5, f"{footer}{self.page_no()} of {{nb}}", align="C")  # {nb}: fpdf2's page count
            self.text_shaping = shaping

    pdf = PetitionPDF(format="A4")
    pdf.set_creation_date(figures.as_of)  # the same figures make the same file (and SHA-256)
    pdf.set_title(f"Petition: {figures.title}")
    pdf.set_author(figures.campaign)
    pdf.set_subject(f"{figures.total:,} signatures, {figures.period()}")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    # HarfBuzz shaping joins Arabic letters and orders right-to-left text; it is slow (ms a
    # cell), so only the appeal's own texts get it, and only when they need it.
    pdf.set_text_shaping(complex_script)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(90, 99, 114)
    pdf.cell(width, 5, f"{figures.campaign} · Urgent Action", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(17, 20, 24)
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(width, 8, f"Petition: {figures.title}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    def pair(label: str, value: str) -> None:
        if not value:
            return
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(38, 6, label)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(width - 38, 6, value, align="L", new_x="LMARGIN", new_y="NEXT")

    pair("To", figures.target.name or "the authority concerned")
    pair("Concerning", figures.person)
    pair("Appeal", figures.sms_text)
    pair("Signatures", f"{figures.total:,}")
    pair("Period", figures.period())
    as_of = figures.as_of.astimezone(tz)
    pair("Figures as of", f"{_day(as_of.date())} {as_of:%H:%M} ({figures.timezone})")
    pdf.ln(4)

    pdf.set_font("DejaVu", "", 11)
    who = f"for {figures.person}" if figures.person else "for this appeal"
    pdf.multi_cell(
        width,
        6,
        f"{figures.total:,} people signed this appeal {who}, {figures.period_phrase()}. "
        "They ask you to act on it without delay. Each person is counted once, however often "
        "they signed. The signatures by country and by day follow.",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)

    pdf.set_text_shaping(False)  # the tables hold country names, dates and numbers only
    heading = FontFace(emphasis="BOLD", fill_color=(230, 232, 236))
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(width, 7, "Signatures by country", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    with pdf.table(
        col_widths=(70, 20, 20), text_align=("LEFT", "RIGHT", "RIGHT"), headings_style=heading, width=width
    ) as table:
        table.row(["Country", "Signatures", "Share"])
        for country in figures.countries:
            share = country.signatures / figures.total if figures.total else 0
            table.row([country.name, f"{country.signatures:,}", f"{share:.1%}"])
        table.row(["Total", f"{figures.total:,}", "100%" if figures.total else "0%"])
    pdf.ln(5)

    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(width, 7, f"Signatures by day ({figures.timezone})", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    with pdf.table(
        col_widths=(70, 20, 20), text_align=("LEFT", "RIGHT", "RIGHT"), headings_style=heading, width=width
    ) as table:
        table.row(["Day", "Signatures", "Running total"])
        running = 0
        for day, count in figures.days:
            running += count
            table.row([_day(day), f"{count:,}", f"{running:,}"])
    pdf.ln(5)
    pdf.set_font("DejaVu", "", 8)
    pdf.set_text_color(90, 99, 114)
    pdf.multi_cell(
        width,
        4,
        "The signers' phone numbers and names are not included, to protect them. "
        "A CSV file with the same figures accompanies this document.",
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())


# -- helpers ---------------------------------------------------------------------------------------


def _day_bucket(connection: Connection, timezone: str) -> Any:
    """SQL for the group a signature's day is counted in.

    PostgreSQL knows time zones: the organisation's calendar day itself (YYYY-MM-DD).
    SQLite does not: the UTC quarter-hour of the stored text ("2026-11-29 23:2" is 23:30
    to 23:45), counted in C and turned into local days by ``_bucket_day``.  Every time
    zone's offset is a whole number of quarter-hours, so no signature lands on the wrong day.
    """
    if connection.dialect.name == "postgresql":
        return func.to_char(func.timezone(timezone, Signature.received_at), "YYYY-MM-DD")
    minute = cast(func.substr(Signature.received_at, 15, 2), Integer)
    return func.substr(Signature.received_at, 1, 14).concat(cast(minute // 15, String))


def _bucket_day(key: str, timezone: str) -> date:
    if len(key) == 10:  # already a local day
        return date.fromisoformat(key)
    hour = datetime.strptime(key[:14], "%Y-%m-%d %H:").replace(tzinfo=UTC)
    return (hour + timedelta(minutes=15 * int(key[14:]))).astimezone(_zone(timezone)).date()


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite through UNION ALL may hand back the stored text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
