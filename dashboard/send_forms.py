"""The Messages page's sending flows: an alert, an outcome message, resending texts in doubt.

Each is preview -> confirm -> progress.  "Preview" asks the core what would be sent and to
how many (``campaign.messaging.alerts.plan``, ``campaign.messaging.outcome_messages.plan``)
and keeps that plan
in the session; "Send to N" queues exactly that plan; then a progress bar follows the batch
every second until every text is settled.  A mistake (no SMS text, over 160 characters, an
unknown country) is one sentence from the core, shown with ``st.error``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from campaign.access import roles
from campaign.appeals.registry import AppealSummary
from campaign.errors import CampaignError
from campaign.messaging import alerts, outbox, outcome_messages
from dashboard import data, forms, guard

# The dashboard has no sign-in of its own yet; audit entries name it until it does.
SETTLED = ("sent", "delivered", "failed", "cancelled", "unknown")


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
        "Text (at most 160 characters; empty: the appeal's own SMS text)",
        max_chars=160,
        height=80,
        key="alert-text",
    )
    if st.button("Preview alert", key="alert-preview", icon=":material/visibility:"):
        st.session_state.pop("alert-batch", None)
        try:
            if slug is None:
                raise CampaignError("choose the appeal")
            st.session_state["alert-plan"] = alerts.plan(data.engine(), slug, chosen, text.strip() or None)
        except CampaignError as error:
            st.session_state.pop("alert-plan", None)
            st.error(error.message)
    plan: alerts.AlertPlan | None = st.session_state.get("alert-plan")
    if plan is not None:
        where = ", ".join(names.get(c, c) for c in plan.countries) or "all countries"
        _preview(
            plan.body,
            f"Alert for {plan.title} · {where}",
            plan.recipients,
            plan.already,
            "subscribed supporters",
        )
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
        "Text (at most 160 characters; empty: made from the outcome)",
        max_chars=160,
        height=80,
        key="outcome-message-text",
    )
    if st.button("Preview outcome message", key="outcome-message-preview", icon=":material/visibility:"):
        st.session_state.pop("outcome-message-batch", None)
        try:
            if slug is None:
                raise CampaignError("choose the appeal")
            st.session_state["outcome-message-plan"] = outcome_messages.plan(
                data.engine(), slug, text.strip() or None
            )
        except CampaignError as error:
            st.session_state.pop("outcome-message-plan", None)
            st.error(error.message)
    plan: outcome_messages.OutcomePlan | None = st.session_state.get("outcome-message-plan")
    if plan is not None:
        _preview(plan.body, f"{plan.outcome} · {plan.appeal}", plan.recipients, plan.already, "signers")
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


def _preview(body: str, title: str, recipients: int, already: int, who: str) -> None:
    with st.container(border=True, key=f"preview-{who.replace(' ', '-')}"):
        st.caption(title)
        st.text(body)
        st.caption(f"{len(body)}/160 characters")
        if recipients:
            line = f"**{recipients:,}** {who} will get this text"
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
