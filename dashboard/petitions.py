"""The Appeals page's tables and its deliver flow (``dashboard.appeal_forms`` has its forms).

Delivering takes two clicks: "Deliver…" shows exactly what will go where (count, period,
addresses) and "Confirm and send" sends it; "Cancel" goes back.  The core
(``campaign.appeals.deliveries``) sends and records; a failure is its one sentence in
``st.error``, and the failed delivery shows in the list below like any other.

The tables are plain functions of the core's values, tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from campaign.appeals import deliveries
from campaign.appeals.deliveries import DeliveryFailed, DeliveryRecord, SmtpConfig
from campaign.appeals.petition import Figures, Petition
from campaign.appeals.registry import AppealSummary, Target
from campaign.errors import CampaignError, ConfigurationError
from campaign.settings import get_settings
from dashboard import data, guard

FLASH = "appeals:flash"
CONFIRM = "appeals:confirm"


# -- tables ----------------------------------------------------------------------------------------


def overview(
    summaries: Sequence[AppealSummary],
    targets: Mapping[str, Target],
    history: Sequence[DeliveryRecord],
    tz: ZoneInfo,
) -> pd.DataFrame:
    """One row per appeal: its target, its signatures, and its deliveries."""
    rows = []
    for a in summaries:
        target = targets.get(a.slug, Target("", "", ""))
        own = [d for d in history if d.appeal == a.slug]
        reached = [d for d in own if d.status in {"sent", "partial"}]
        last = reached[0] if reached else None
        rows.append(
            {
                "appeal": a.slug,
                "title": a.title,
                "status": a.status,
                "target": target.name,
                "email": target.email,
                "fax": target.fax,
                "signatures": a.signatures,
                # Text, empty when there is none: the table writes "None" in an empty number cell.
                "delivered": f"{last.signatures:,}".replace(",", "\u202f") if last else "",
                "last_delivery": f"{last.created_at.astimezone(tz):%Y-%m-%d %H:%M}" if last else "",
                "deliveries": len(reached),
            }
        )
    columns = ["appeal", "title", "status", "target", "email", "fax", "signatures", "delivered"]
    return pd.DataFrame(rows, columns=[*columns, "last_delivery", "deliveries"])


def by_country(figures: Figures) -> pd.DataFrame:
    total = figures.total or 1
    return pd.DataFrame(
        [(c.name, c.code, c.signatures, c.signatures / total) for c in figures.countries],
        columns=["country", "code", "signatures", "share"],
    )


def by_day(figures: Figures) -> pd.DataFrame:
    frame = pd.DataFrame(figures.days, columns=["day", "signatures"])
    frame["running"] = frame["signatures"].cumsum()
    return frame


def history_table(records: Sequence[DeliveryRecord], tz: ZoneInfo) -> pd.DataFrame:
    def local(moment: object) -> object:
        return moment.astimezone(tz).replace(tzinfo=None) if moment is not None else None  # type: ignore[attr-defined]

    return pd.DataFrame(
        [
            {
                "time": local(r.created_at),
                "status": r.status,
                "signatures": r.signatures,
                "from": local(r.period_start),
                "to": local(r.period_end),
                "recipients": ", ".join(r.recipients),
                "message_ids": ", ".join(m for m in r.message_ids if m),
                "sha256": r.document_sha256,
                "by": r.actor,
                "error": r.error,
            }
            for r in records
        ],
        columns=[
            "time",
            "status",
            "signatures",
            "from",
            "to",
            "recipients",
            "message_ids",
            "sha256",
            "by",
            "error",
        ],
    )


def smtp() -> tuple[SmtpConfig | None, str]:
    """The mail settings, or why delivery is off."""
    try:
        return SmtpConfig.from_settings(get_settings()), ""
    except ConfigurationError as error:
        return None, error.message


# -- the flows -------------------------------------------------------------------------------------


def flash() -> None:
    """The result of the last delivery or edit, shown once after the page ran again."""
    kind, message = st.session_state.pop(FLASH, (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")


def deliver_flow(slug: str, petition: Petition, history: Sequence[DeliveryRecord]) -> None:
    """Deliver… → what goes where → Confirm and send (or Cancel)."""
    figures = petition.figures
    last = next((d for d in history if d.status in {"sent", "partial"}), None)
    config, off = smtp()
    addresses = figures.target.addresses
    problem = (
        off
        or ("" if addresses else "Set the target's email or fax gateway address first.")
        or ("" if figures.total else "There are no signatures to deliver yet.")
    )
    if problem:
        st.info(problem, icon=":material/info:")
    if st.session_state.get(CONFIRM) != slug:
        if st.button(
            "Deliver to the authority…",
            type="primary",
            disabled=bool(problem),
            key="deliver-start",
            icon=":material/outgoing_mail:",
        ):
            st.session_state[CONFIRM] = slug
            st.rerun()
        return
    with st.container(border=True, key="deliver-confirmation"):
        st.markdown(
            f"Send the petition **{figures.title}** with **{figures.total:,} signatures** "
            f"({figures.period()}) to **{figures.target.name or 'the authority'}**: "
            + ", ".join(f"`{a}`" for a in addresses)
            + ". One message per address, with the PDF and the CSV attached. "
            "Figures are read again at the moment of sending." + _last_delivered(last, figures.tz)
        )
        with st.container(horizontal=True):
            confirmed = st.button(
                "Confirm and send", type="primary", disabled=bool(problem), key="deliver-confirm"
            )
            cancelled = st.button("Cancel", key="deliver-cancel")
    if cancelled:
        st.session_state.pop(CONFIRM, None)
        st.rerun()
    if not confirmed or config is None:
        return
    st.session_state.pop(CONFIRM, None)
    try:
        with st.spinner("Sending…"):
            record = deliveries.deliver(
                data.engine(), slug, config, timezone=get_settings().timezone, actor=guard.actor()
            )
    except DeliveryFailed as error:
        _done("error", error.message)
    except CampaignError as error:
        st.error(error.message)
        return
    else:
        if record.status == "partial":
            _done("error", f"Delivered to {', '.join(record.delivered_to)} only: {record.error}")
        else:
            _done("success", f"Delivered {record.signatures:,} signatures to {', '.join(record.recipients)}")


def _last_delivered(last: DeliveryRecord | None, tz: ZoneInfo) -> str:
    if last is None:
        return ""
    return (
        f" Last delivered: {last.signatures:,} signatures on {last.created_at.astimezone(tz):%d %B %Y %H:%M}."
    )


def _done(kind: str, message: str) -> None:
    st.session_state[FLASH] = (kind, message)
    data.forget_deliveries()
    st.rerun()
