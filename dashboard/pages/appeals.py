"""Appeals: create and run appeals, and deliver their petitions, for campaign leads.

"New appeal" creates one (as ``campaign appeal add``).  Pick an appeal (kept in the URL:
``/appeals?appeal=hassan``) to feature it on a short code, close or reopen it, edit it (its
texts, keywords, goal, target authority and addresses, thank-you translations, milestones),
see the petition as it would be delivered (the figures by country and by day, the period
covered), download its PDF and CSV, and deliver it by email and fax with a confirmation.
Every delivery, failed ones too, is listed with its message ids and the SHA-256 of the
document sent.
"""

from __future__ import annotations

import streamlit as st

from campaign.appeals.registry import Target
from dashboard import appeal_forms, blocks, data, nav, petitions, session, style

p = style.DARK
st.html(style.staff_css(p))
nav.staff_links()
tz = data.timezone()
query = session.query()
asked = query["appeal"][-1] if query.get("appeal") else None

# Data: every appeal with its target and deliveries (SQL, 30 s).
summaries = data.appeal_list()
targets = data.appeal_targets()
table = petitions.overview(summaries, targets, data.delivery_history(), tz)
titles = {a.slug: a.title for a in summaries}

st.html(
    blocks.staff_heading("Appeals", "appeals, their targets, signatures and deliveries to the authorities")
)
petitions.flash()
with st.expander("New appeal", icon=":material/add_circle:"):
    appeal_forms.create_form(data.campaigns())
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "appeal": st.column_config.TextColumn("Appeal"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "status": st.column_config.TextColumn("Status"),
        "target": st.column_config.TextColumn("Target"),
        "email": st.column_config.TextColumn("Email"),
        "fax": st.column_config.TextColumn("Fax gateway"),
        "signatures": st.column_config.NumberColumn("Signatures", format="localized"),
        "delivered": st.column_config.TextColumn("Last delivered"),
        "last_delivery": st.column_config.TextColumn("Delivered on"),
        "deliveries": st.column_config.NumberColumn("Deliveries"),
    },
    key="table-appeals",
)

# Widgets: the appeal, kept in the URL.
slugs = list(titles)
slug = st.selectbox(
    "Appeal",
    slugs,
    index=slugs.index(asked) if asked in slugs else None,
    format_func=lambda s: f"{titles[s]} ({s})",
    placeholder="Choose an appeal to see its petition and deliver it",
    key=appeal_forms.PICKED,
)
session.share({"appeal": slug})
if slug is None:
    st.stop()

appeal = next(a for a in summaries if a.slug == slug)
st.html(blocks.panel_heading(f"Appeal: {appeal.title}"))
appeal_forms.status_row(appeal, data.settings().short_code)
with st.expander("Edit appeal", icon=":material/edit:"):
    appeal_forms.edit_form(appeal, targets.get(slug, Target("", "", "")))

petition = data.petition(slug)
figures = petition.figures
st.html(blocks.panel_heading(f"Petition: {figures.title}"))
st.html(
    blocks.petition_figures(
        total=figures.total,
        countries=len(figures.countries),
        days=len(figures.days),
        period=figures.period(),
        recipients=len(figures.target.addresses),
        target=figures.target.name or "no target set",
    )
)
left, right = st.columns(2)
left.dataframe(
    petitions.by_country(figures),
    hide_index=True,
    width="stretch",
    column_config={
        "country": st.column_config.TextColumn("Country"),
        "code": st.column_config.TextColumn("Code"),
        "signatures": st.column_config.NumberColumn("Signatures", format="localized"),
        "share": st.column_config.NumberColumn("Share", format="percent"),
    },
    key="table-countries",
)
right.dataframe(
    petitions.by_day(figures),
    hide_index=True,
    width="stretch",
    column_config={
        "day": st.column_config.DateColumn(f"Day ({tz.key})", format="YYYY-MM-DD"),
        "signatures": st.column_config.NumberColumn("Signatures", format="localized"),
        "running": st.column_config.NumberColumn("Running total", format="localized"),
    },
    key="table-days",
)
with st.container(horizontal=True, key="downloads"):
    st.download_button(
        "PDF", petition.pdf, file_name=petition.pdf_name, mime="application/pdf", icon=":material/download:",
        key="download-pdf", on_click="ignore",
    )  # fmt: skip
    st.download_button(
        "CSV", petition.csv, file_name=petition.csv_name, mime="text/csv", icon=":material/download:",
        key="download-csv", on_click="ignore",
    )  # fmt: skip
history = data.delivery_history(slug)
petitions.deliver_flow(slug, petition, history)

st.html(blocks.panel_heading("Deliveries"))
st.dataframe(
    petitions.history_table(history, tz),
    hide_index=True,
    width="stretch",
    column_config={
        "time": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm"),
        "status": st.column_config.TextColumn("Status"),
        "signatures": st.column_config.NumberColumn("Signatures", format="localized"),
        "from": st.column_config.DatetimeColumn("From", format="YYYY-MM-DD"),
        "to": st.column_config.DatetimeColumn("To", format="YYYY-MM-DD"),
        "recipients": st.column_config.TextColumn("Recipients", width="medium"),
        "message_ids": st.column_config.TextColumn("Message ids"),
        "sha256": st.column_config.TextColumn("PDF SHA-256"),
        "by": st.column_config.TextColumn("By"),
        "error": st.column_config.TextColumn("Error", width="medium"),
    },
    key="table-deliveries",
)
