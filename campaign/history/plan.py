"""Planning a history query over the rollups: which rows of which table, under which conditions.

A range [start hour, end hour) is cut into whole calendar months (read from
``signature_months``), the whole days left at its ends (``signature_days``) and the hours left
at their ends (``signature_hours``).  Each query sums every part with the same filters and
adds the results up in Python: a three-year view reads a few thousand month rows, and stays
exact to the hour.  Without the rollups, the one part is the raw signatures table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, cast

from campaign.history import rollups
from campaign.history.filters import Scope
from campaign.storage.models import Signature, SignatureDay, SignatureHour, SignatureMonth


@dataclass(frozen=True)
class RollupPart:
    """Rows of one rollup (or of the raw signatures) between two bounds in its own unit."""

    table: Any
    unit: str  # month, day or hour; "raw" for the signatures table itself
    low: int | None
    high: int | None


def parts(where: Scope, finest: str = "month", *, from_rollups: bool = True) -> list[RollupPart]:
    """The scope's range as rollup parts, using units no coarser than ``finest``."""
    if not from_rollups:
        return [RollupPart(Signature.__table__, "raw", where.start_hour, where.end_hour)]
    return _split(where.start_hour, where.end_hour, finest)


def _split(lo: int | None, hi: int | None, finest: str) -> list[RollupPart]:
    if lo is not None and hi is not None and lo >= hi:
        return []
    if finest == "hour":
        return [RollupPart(SignatureHour.__table__, "hour", lo, hi)]
    if finest == "day":
        first = None if lo is None else -(-lo // 24)
        last = None if hi is None else hi // 24
        if first is not None and last is not None and first >= last:
            return _split(lo, hi, "hour")
        out = [RollupPart(SignatureDay.__table__, "day", first, last)]
        if first is not None:
            out += _split(lo, first * 24, "hour")
        if last is not None:
            out += _split(last * 24, hi, "hour")
        return out
    first = None
    if lo is not None:
        first = rollups.month_of(rollups.hour_start(lo))
        if rollups.month_hours(first) < lo:
            first += 1
    last = None if hi is None else rollups.month_of(rollups.hour_start(hi))
    if first is not None and last is not None and first >= last:
        return _split(lo, hi, "day")
    out = [RollupPart(SignatureMonth.__table__, "month", first, last)]
    if first is not None:
        out += _split(lo, rollups.month_hours(first), "day")
    if last is not None:
        out += _split(rollups.month_hours(last), hi, "day")
    return out


def column_of(connection: Connection, part: RollupPart, name: str) -> Any:
    """A column of a part; ``day`` and ``hour`` are worked out for finer parts and raw rows."""
    table = part.table
    if part.unit == "raw":
        hour = rollups.epoch_units(connection, table.c.received_at, rollups.HOUR)
        if name == "hour":
            return hour
        if name == "day":
            return cast(hour // 24, Integer)
    if name == "day" and part.unit == "hour":
        return cast(table.c.hour // 24, Integer)
    return table.c[name]


def part_conditions(part: RollupPart, where: Scope) -> list[ColumnElement[bool]]:
    table = part.table
    if part.unit == "raw":
        return [*time_bounds(table.c.received_at, where), *attribute_conditions(table.c, where)]
    return [*bounds(table.c[part.unit], part.low, part.high), *attribute_conditions(table.c, where)]


def bounds(column: Any, low: int | None, high: int | None) -> list[ColumnElement[bool]]:
    out = []
    if low is not None:
        out.append(column >= low)
    if high is not None:
        out.append(column < high)
    return out


def attribute_conditions(columns: Any, where: Scope) -> list[ColumnElement[bool]]:
    f = where.filters
    out: list[ColumnElement[bool]] = []
    if where.appeal_ids is not None:
        out.append(columns.appeal_id.in_(where.appeal_ids))
    for name, values in (("channel", f.channels), ("provider", f.providers), ("country", f.countries)):
        if values:
            out.append(columns[name].in_(values))
    return out


def time_bounds(column: Any, where: Scope) -> list[ColumnElement[bool]]:
    out = []
    if where.start_hour is not None:
        out.append(column >= rollups.hour_start(where.start_hour))
    if where.end_hour is not None:
        out.append(column < rollups.hour_start(where.end_hour))
    return out
