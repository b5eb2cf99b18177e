"""The Messages page's sending flows: an alert, an outcome message, resending texts in doubt.

Each is preview -> confirm -> progress.  "Preview" asks the core what would be sent and to
how many (``campaign.messaging.alerts.plan``, ``campaign.messaging.outcome_messages.plan``)
and keeps that plan
in the session, showing each language's version with its encoding, characters and SMS
segments, recipients and segments in total, and which characters forced UCS-2; "Send to N"
queues exactly that plan; then a progress bar follows the batch every second until every
text is settled.  A mistake (no SMS text, over the segment budget, an unknown country or
language) is one sentence from the core, shown with ``st.error``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from campaign.access import roles
from campaign.appeals.registry import AppealSummary
from campaign.errors import CampaignError
from campaign.messaging import alerts, bulk, outbox, outcome_messages
from campaign.messaging.segments import forcing_text, measure
from campaign.settings import get_settings
from dashboard import data, forms, guard

# The dashboard has no sign-in of its own yet; audit entries name it until it does.
SETTLED = ("sent", "delivered", "failed", "cancelled", "unknown")
TRANSLATIONS_LABEL = "Translations (one line per language, e.g. fr: Libérez Hassan ...)"
SEGMENTS_HELP = (
    "As the network bills it: GSM-7 holds 160 characters in one segment (153 when split; "
    "^ { } \\ [ ~ ] | € count twice); one character outside GSM 03.38 makes the whole text "
    "UCS-2: 70 (67 when split)."
)
TRANSLATIONS_HELP = (
    "Each supporter gets the text in their language when you give it (ISO 639-1 code, e.g. fr, "
    "nl, ar), else the text above."
)


def alert_flow(appeals: Sequence[AppealSummary]) -> None:
    """Send an appeal's alert to the subscribers, or to those of some countries."""
    open_appeals = {a.slug: a for a in appeals if a.status != "closed"}
    left, right = st.columns([2, 3])
    slug = left.selectbox(
        "Appeal",
        list(open_appeals),
        index=None,
        format_func=lambda s: f"{open_appeals[s].title} ({s})",
        placeholder="Choose an appeal",
        key="alert-appeal",
    )
    names = forms.countries()
    chosen = right.multiselect(
        "Only subscribers in",
        list(names),
        format_func=lambda c: names.get(c, c),
        placeholder="All countries",
        key="alert-countries",
    )
    text = st.text_area(
        f"Text ({_budget()}; empty: the appeal's own SMS text)",
        height=80,
        key="alert-text",
    )
    if text.strip():
        st.caption(measure(" ".join(text.split())).line(), help=SEGMENTS_HELP)
    translations = st.text_area(
        TRANSLATIONS_LABEL, height=80, key="alert-translations", help=TRANSLATIONS_HELP
    )
    if st.button("Preview alert", key="alert-preview", icon=":material/visibility:"):
        st.session_state.pop("alert-batch", None)
        try:
            if slug is None:
                raise CampaignError("choose the appeal")
            st.session_state["alert-plan"] = alerts.plan(
                data.engine(),
                slug,
                chosen,
                text.strip() or None,
                bulk.parse_translations(translations.splitlines(), "one line per language, LANG: text"),
                get_settings().alert_max_segments,
            )
        except CampaignError as error:
            st.session_state.pop("alert-plan", None)
            st.error(error.message)
    plan: alerts.AlertPlan | None = st.session_state.get("alert-plan")
    if plan is not None:
        where = ", ".join(names.get(c, c) for c in plan.countries) or "all countries"
        _preview(plan.text, f"Alert for {plan.title} · {where}", plan.already, "subscribed supporters")
        if plan.recipients and st.button(
            f"Send to {plan.recipients:,} supporters",
            type="primary",
            key="alert-confirm",
            icon=":material/send:",
        ):
            queued = alerts.queue(data.engine(), plan, guard.actor())
            st.session_state["alert-batch"] = (queued.batch, queued.queued)
            del st.session_state["alert-plan"]
            data.forget_outbox()
            st.rerun()
    if "alert-batch" in st.session_state:
        batch, total = st.session_state["alert-batch"]
        progress(batch, total, "alert")


def outcome_flow(appeals: Sequence[AppealSummary]) -> None:
    """Tell the signers of an appeal its latest outcome, once."""
    table = data.outcome_table(None)
    decided = set(table.loc[table["kind"].notna(), "slug"])
    with_outcome = {a.slug: a for a in appeals if a.slug in decided}
    slug = st.selectbox(
        "Appeal with an outcome",
        list(with_outcome),
        index=None,
        format_func=lambda s: f"{with_outcome[s].title} ({s})",
        placeholder="Choose an appeal",
        key="outcome-message-appeal",
    )
    text = st.text_area(
        f"Text ({_budget()}; empty: made from the outcome)",
        height=80,
        key="outcome-message-text",
    )
    if text.strip():
        st.caption(measure(" ".join(text.split())).line(), help=SEGMENTS_HELP)
    translations = st.text_area(
        TRANSLATIONS_LABEL, height=80, key="outcome-message-translations", help=TRANSLATIONS_HELP
    )
    if st.button("Preview outcome message", key="outcome-message-preview", icon=":material/visibility:"):
        st.session_state.pop("outcome-message-batch", None)
        try:
            if slug is None:
                raise CampaignError("choose the appeal")
            st.session_state["outcome-message-plan"] = outcome_messages.plan(
                data.engine(),
                slug,
                text.strip() or None,
                bulk.parse_translations(translations.splitlines(), "one line per language, LANG: text"),
                get_settings().alert_max_segments,
            )
        except CampaignError as error:
            st.session_state.pop("outcome-message-plan", None)
            st.error(error.message)
    plan: outcome_messages.OutcomePlan | None = st.session_state.get("outcome-message-plan")
    if plan is not None:
        _preview(plan.text, f"{plan.outcome} · {plan.appeal}", plan.already, "signers")
        if plan.recipients and st.button(
            f"Send to {plan.recipients:,} signers",
            type="primary",
            key="outcome-message-confirm",
            icon=":material/send:",
        ):
            queued = outcome_messages.queue(data.engine(), plan, guard.actor())
            st.session_state["outcome-message-batch"] = (queued.batch, queued.queued)
            del st.session_state["outcome-message-plan"]
            data.forget_outbox()
            st.rerun()
    if "outcome-message-batch" in st.session_state:
        batch, total = st.session_state["outcome-message-batch"]
        progress(batch, total, "outcome message")


def _budget() -> str:
    most = get_settings().alert_max_segments
    if most == 1:
        return "at most 1 SMS segment: 160 GSM characters, 70 in UCS-2"
    return f"at most {most} SMS segments: {153 * most} GSM characters, {67 * most} in UCS-2"


def _preview(text: bulk.BulkText, title: str, already: int, who: str) -> None:
    """Each version with its encoding, characters and segments; recipients and segments in total."""
    with st.container(border=True, key=f"preview-{who.replace(' ', '-')}"):
        st.caption(title)
        for version in text.versions:
            if len(text.versions) > 1:
                st.caption(f"{version.label} · {version.recipients:,} {who}")
            st.text(version.body)
            st.caption(version.measure.line())
            if version.measure.forcing:
                st.warning(
                    f"{version.label}: UCS-2, 70 characters a segment, because of "
                    f"{forcing_text(version.measure.forcing)}",
                    icon=":material/warning:",
                )
        st.dataframe(
            pd.DataFrame(
                [
                    (
                        v.label,
                        v.measure.encoding,
                        v.measure.characters,
                        v.measure.segments,
                        v.recipients,
                        v.segments,
                    )
                    for v in text.versions
                ],
                columns=["text", "encoding", "characters", "segments per text", "recipients", "segments"],
            ),
            hide_index=True,
            key=f"segments-{who.replace(' ', '-')}",
        )
        if text.recipients:
            line = f"**{text.recipients:,}** {who} will get this text: **{text.segments:,}** SMS segments"
        else:
            line = f"Nobody to send to: no {who} without it"
        if already:
            line += f" ({already:,} already had it and are left out)"
        st.markdown(line)


@st.fragment(run_every=1.0)
def progress(batch: str, total: int, what: str) -> None:
    """The batch's progress, read again every second until every text is settled."""
    counts = outbox.batch_progress(data.engine(), batch)
    done = sum(counts[s] for s in SETTLED)
    sent = counts["sent"] + counts["delivered"]
    st.progress(
        min(done / total, 1.0) if total else 1.0,
        text=f"{what}: {sent:,} of {total:,} sent · {counts['failed']:,} failed · "
        f"{counts['cancelled']:,} opted out · "
        + (f"{counts['unknown']:,} in doubt (below) · " if counts["unknown"] else "")
        + f"{counts['queued'] + counts['sending']:,} waiting",
    )


def in_doubt_flow(in_doubt: pd.DataFrame) -> None:
    """Texts in doubt (held by a sender that stopped): a lead resends the chosen ones, or all.

    Resending queues again only texts still ``unknown``, so a second click, or a second lead,
    sends nothing twice.
    """
    visitor = guard.visitor()
    if visitor is None or not roles.includes(visitor.role, "lead"):
        st.info("Only leads may resend texts.")
        return
    ids = [int(i) for i in in_doubt["id"]]
    described = {
        int(row.id): f"#{row.id} · {row.kind} · {row.appeal or '-'} · {row.to}"
        for row in in_doubt.itertuples()
    }
    chosen = st.multiselect(
        "Texts to resend",
        ids,
        format_func=lambda i: described.get(i, f"#{i}"),
        placeholder="Choose texts, or resend them all",
        key="doubt-chosen",
    )
    left, right = st.columns(2)
    picked: list[int] | None = None
    if left.button(
        f"Resend {len(chosen):,} chosen", key="doubt-resend", icon=":material/replay:", disabled=not chosen
    ):
        picked = list(chosen)
    if right.button(f"Resend all {len(ids):,}", key="doubt-resend-all", icon=":material/replay:"):
        picked = ids
    if picked is not None:
        resent = outbox.resend(data.engine(), picked, guard.actor())
        data.forget_outbox()
        st.session_state.pop("doubt-chosen", None)
        if resent:
            st.success(f"{resent:,} text{'s' if resent != 1 else ''} queued again.")
        else:
            st.info("Nothing to resend: these texts were resent already.")
