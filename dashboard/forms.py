"""The staff forms: add or edit a demonstration, record an outcome; an appeal's milestones field.

The core checks every value (``campaign.activity.demonstrations.prepare``,
``campaign.appeals.outcomes.record``) and says what is wrong in one sentence
(``BadRequest.message``); a form shows that sentence with ``st.error`` and keeps what was
typed, so a mistake costs one correction and never shows a traceback.  After a write the
dashboard's history caches are cleared and the page runs again, so the map, the lists and
the charts already include what was saved.

The conversions from widget values to the core's inputs are plain functions, tested
without Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pycountry
import streamlit as st
from sqlalchemy.exc import IntegrityError

from campaign.activity import demonstrations
from campaign.activity.demonstrations import DemonstrationInput
from campaign.activity.geo import country_name
from campaign.appeals import milestones, outcomes
from campaign.appeals.registry import AppealSummary
from campaign.errors import BadRequest, CampaignError
from dashboard import data, frames

FLASH = "staff:flash"
NEW = "new"


# -- pure conversions ------------------------------------------------------------------------------


def lines(text: str) -> list[str]:
    """Links or photos typed one a line (or separated by spaces)."""
    return [part for part in text.split() if part]


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A date and time as staff typed them, in the organisation's time zone."""
    return datetime.combine(day, at).replace(tzinfo=tz)


def demonstration_input(
    *,
    campaign: str | None,
    title: str,
    city: str,
    country: str | None,
    day: date | None,
    at: time | None,
    tz: ZoneInfo,
    latitude: float | None = None,
    longitude: float | None = None,
    attendance: int | float | None = None,
    organiser: str = "",
    links: str = "",
    photos: str = "",
) -> DemonstrationInput:
    """The form's values as the core's input; raises BadRequest for what the core cannot judge."""
    if not campaign:
        raise BadRequest("choose the campaign")
    if day is None or at is None:
        raise BadRequest("give the date and the time it starts")
    if (latitude is None) != (longitude is None):
        raise BadRequest("give both latitude and longitude, or neither (to look them up from the city)")
    return DemonstrationInput(
        campaign=campaign,
        title=title,
        city=city,
        country=country or "",
        starts_at=local_moment(day, at, tz),
        latitude=latitude,
        longitude=longitude,
        attendance=None if attendance is None else int(attendance),
        organiser=organiser,
        links=lines(links),
        photos=lines(photos),
        source="dashboard",
    )


def changes(stored: Mapping[str, Any], given: DemonstrationInput) -> dict[str, Any]:
    """What ``campaign.activity.demonstrations.update`` gets for an edit.

    The form shows the stored coordinates; if the city or country changed but the
    coordinates were left as they were, they are looked up again for the new place.
    """
    moved = given.city.strip() != stored["city"] or _code(given.country) != stored["country"]
    # Tolerant: the form shows coordinates to four decimals and may send them back rounded.
    same_place = all(
        value is not None and math.isclose(value, float(stored[name]), abs_tol=1e-3)
        for value, name in ((given.latitude, "latitude"), (given.longitude, "longitude"))
    )
    look_up = moved and same_place
    return {
        "title": given.title,
        "city": given.city,
        "country": given.country,
        "starts_at": given.starts_at,
        "attendance": given.attendance,
        "organiser": given.organiser,
        "links": given.links,
        "photos": given.photos,
        "latitude": None if look_up else given.latitude,
        "longitude": None if look_up else given.longitude,
    }


def countries() -> dict[str, str]:
    """ISO alpha-2 -> name, by name: what a country is picked from."""
    names = {str(c.alpha_2): country_name(str(c.alpha_2)) for c in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: item[1]))


def _code(country: str) -> str:
    try:
        return str(pycountry.countries.lookup(country.strip()).alpha_2)
    except LookupError:
        return country


# -- the forms -------------------------------------------------------------------------------------


def flash() -> None:
    """The message of the last save, shown once after the page ran again."""
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon="✅")


def demonstration_form(
    campaign_names: Mapping[str, str], existing: pd.DataFrame, tz: ZoneInfo, campaign: str | None
) -> None:
    """Add a demonstration, or pick one of ``existing`` (as ``tables.demonstrations``) to edit."""
    options = [NEW, *[str(i) for i in existing["id"]]]
    labels = {
        str(row.id): f"{row.starts_at:%d %b %Y} · {row.city} · {row.title}" for row in existing.itertuples()
    }
    chosen = st.selectbox(
        "Demonstration",
        options,
        format_func=lambda o: "New demonstration" if o == NEW else labels.get(o, o),
        key="demo-pick",
    )
    row = None if chosen == NEW else existing[existing["id"] == int(chosen)].iloc[0]
    slugs = list(campaign_names)
    default_campaign = row["campaign"] if row is not None else campaign
    names = countries()
    codes = list(names)
    k = f"demo-{chosen}"  # each demonstration's form starts from its own stored values
    with st.form(f"demonstration-form-{chosen}", border=False):
        left, middle, right = st.columns(3)
        picked_campaign = left.selectbox(
            "Campaign",
            slugs,
            index=slugs.index(default_campaign) if default_campaign in slugs else None,
            format_func=lambda s: campaign_names.get(s, s),
            disabled=row is not None,
            placeholder="Choose a campaign",
            key=f"{k}-campaign",
        )
        title = middle.text_input("Title", value="" if row is None else row["title"], key=f"{k}-title")
        organiser = right.text_input(
            "Organiser", value="" if row is None else row["organiser"], key=f"{k}-organiser"
        )
        left, middle, right = st.columns(3)
        city = left.text_input("City", value="" if row is None else row["city"], key=f"{k}-city")
        country = middle.selectbox(
            "Country",
            codes,
            index=codes.index(row["country"]) if row is not None and row["country"] in codes else None,
            format_func=lambda c: names.get(c, c),
            placeholder="Choose a country",
            key=f"{k}-country",
        )
        attendance = right.number_input(
            "Attendance",
            min_value=0,
            value=None if row is None or pd.isna(row["attendance"]) else int(row["attendance"]),
            step=1,
            placeholder="unknown",
            key=f"{k}-attendance",
        )
        left, middle, right, far = st.columns(4)
        day = left.date_input(
            "Date",
            value=None if row is None else row["starts_at"].date(),
            min_value=date(1990, 1, 1),
            max_value=date(2100, 12, 31),
            format="YYYY-MM-DD",
            key=f"{k}-day",
        )
        at = middle.time_input(
            f"Starts ({tz.key})",
            value=time(14) if row is None else row["starts_at"].time(),
            step=900,
            key=f"{k}-time",
        )
        latitude = right.number_input(
            "Latitude",
            min_value=-90.0,
            max_value=90.0,
            value=None if row is None else float(row["latitude"]),
            format="%.4f",
            placeholder="from the city",
            key=f"{k}-lat",
        )
        longitude = far.number_input(
            "Longitude",
            min_value=-180.0,
            max_value=180.0,
            value=None if row is None else float(row["longitude"]),
            format="%.4f",
            placeholder="from the city",
            key=f"{k}-lon",
        )
        left, right = st.columns(2)
        links = left.text_area(
            "Links (one a line)",
            value="" if row is None else "\n".join(row["links"]),
            height=90,
            key=f"{k}-links",
        )
        photos = right.text_area(
            "Photo links (one a line)",
            value="" if row is None else "\n".join(row["photos"]),
            height=90,
            key=f"{k}-photos",
        )
        submitted = st.form_submit_button(
            "Save demonstration" if row is None else "Save changes", type="primary", key="demo-save"
        )
    if not submitted:
        return
    try:
        given = demonstration_input(
            campaign=picked_campaign,
            title=title,
            city=city,
            country=country,
            day=day,
            at=at,
            tz=tz,
            latitude=latitude,
            longitude=longitude,
            attendance=attendance,
            organiser=organiser,
            links=links,
            photos=photos,
        )
        if row is None:
            demonstrations.save(data.engine(), [given])
        else:
            demonstrations.update(data.engine(), int(row["id"]), **changes(row.to_dict(), given))
    except CampaignError as error:
        st.error(error.message)
        return
    except IntegrityError:
        st.error("this campaign already has a demonstration with that title, city and start")
        return
    _saved(f"Saved: {given.title.strip()}, {given.city.strip()}")


def outcome_form(appeals: Sequence[AppealSummary], tz: ZoneInfo) -> None:
    """Record what happened to the person of an appeal; good or not follows the kind unless changed."""
    by_slug = {a.slug: a for a in appeals}
    kinds = list(outcomes.KINDS)
    if "outcome-kind" not in st.session_state:
        st.session_state["outcome-good"] = outcomes.KINDS[kinds[0]][1]

    def follow_kind() -> None:
        st.session_state["outcome-good"] = outcomes.KINDS[st.session_state["outcome-kind"]][1]

    left, middle, right = st.columns([3, 2, 2])
    slug = left.selectbox(
        "Appeal",
        list(by_slug),
        index=None,
        format_func=lambda s: f"{by_slug[s].title} ({s})",
        placeholder="Choose an appeal",
        key="outcome-appeal",
    )
    kind = middle.selectbox(
        "Outcome",
        kinds,
        format_func=lambda k: outcomes.KINDS[k][0],
        on_change=follow_kind,
        key="outcome-kind",
    )
    day = right.date_input(
        "Date",
        value=datetime.now(tz).date(),
        min_value=date(1990, 1, 1),
        max_value=datetime.now(tz).date(),
        format="YYYY-MM-DD",
        key="outcome-day",
    )
    left, middle, right = st.columns([3, 2, 2], vertical_alignment="bottom")
    source = left.text_input("Source", placeholder="a URL or a short reference", key="outcome-source")
    note = middle.text_input("Note", key="outcome-note")
    good = right.toggle("Good outcome", key="outcome-good", help="Set from the outcome; change it if needed")
    if not st.button("Record outcome", type="primary", key="outcome-save"):
        return
    try:
        if slug is None:
            raise BadRequest("choose the appeal")
        if day is None:
            raise BadRequest("give the date of the outcome")
        recorded = outcomes.record(
            data.engine(),
            slug,
            str(kind),
            occurred_at=day,
            zone=tz,
            good=bool(good),
            source=source.strip(),
            note=note.strip(),
        )
    except CampaignError as error:
        st.error(error.message)
        return
    verdict = "good" if recorded.good else "not good"
    _saved(f"Recorded for {recorded.appeal}: {outcomes.KINDS[recorded.kind][0]} ({verdict})")


def milestones_input(label: str, current: Sequence[int], *, key: str) -> list[int] | None:
    """A milestones field for an appeal's or campaign's form: the list typed, or None if it is wrong.

    Shows the stored milestones ("10 000, 25 000"); a wrong entry is named under the field
    (``milestones.parse``) and the form should not save.  An empty field removes them.
    """
    typed = st.text_input(
        label,
        value=", ".join(frames.grouped(m) for m in current),
        key=key,
        help="Totals whose passing is announced once, e.g. 10000, 25000.",
    )
    try:
        return milestones.parse(typed)
    except BadRequest as error:
        st.error(error.message, icon=":material/error:")
        return None


def _saved(message: str) -> None:
    st.session_state[FLASH] = message
    data.forget_history()
    st.rerun()
