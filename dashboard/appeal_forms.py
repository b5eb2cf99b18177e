"""The Appeals page's forms: create an appeal, edit it, feature it, close and reopen it.

Each goes through the same core functions as ``campaign appeal add|edit|feature|close|reopen``
(``campaign.appeals.registry``): they check every value and say what is wrong in one
sentence, shown with ``st.error`` under the form, which keeps what was typed; they audit
the change under the logged-in user's name; ``registry.publish`` then puts it on the
screens, so the Live page shows a new appeal or a new title within a second or two.

The conversions from widget values to the core's inputs are plain functions, tested
without Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

import streamlit as st

from campaign.appeals import registry
from campaign.appeals.registry import AppealSummary, Target
from campaign.errors import BadRequest, CampaignError
from campaign.messaging.bulk import parse_translations
from dashboard import data, forms, guard
from dashboard.petitions import FLASH

T = TypeVar("T")
PICKED = "appeals-appeal"  # the page's appeal box, set to a new appeal after it is created


# -- pure conversions ------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """Keywords typed separated by spaces or commas."""
    return [word for word in re.split(r"[\s,;]+", text) if word]


def translation_lines(text: str) -> dict[str, str]:
    """Thank-you texts typed one a line as ``fr=Merci ! …`` (``default=`` is the appeal's own language)."""
    given = [line for line in text.splitlines() if line.strip()]
    default = [line.split("=", 1)[1] for line in given if line.strip().startswith("default=")]
    rest = [line for line in given if not line.strip().startswith("default=")]
    found = parse_translations(rest, "fr=text, one a line")
    return {**found, "default": default[-1]} if default else found


def translation_text(translations: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"{language}={text}" for language, text in translations)


# -- the forms -------------------------------------------------------------------------------------


def create_form(campaign_names: Mapping[str, str]) -> None:
    """A new appeal (and its campaign when a new slug is typed), as ``campaign appeal add``."""
    slugs = list(campaign_names)
    with st.form("appeal-new", border=False):
        left, middle, right = st.columns([1, 2, 1])
        slug = left.text_input("Slug", placeholder="hassan", help="Short name in addresses", key="new-slug")
        title = middle.text_input("Title", placeholder="Stop the torture of Hassan", key="new-title")
        campaign = right.selectbox(
            "Campaign",
            slugs,
            index=None,
            format_func=lambda s: campaign_names.get(s, s),
            accept_new_options=True,
            placeholder="Choose, or type a new slug",
            key="new-campaign",
        )
        left, middle, right = st.columns([2, 2, 1])
        person = left.text_input(
            "Person", help="The person or case, as thank-yous name them", key="new-person"
        )
        keywords = middle.text_input(
            "Keywords", placeholder="HASSAN FREEHASSAN", help="Words that sign it, separated by spaces",
            key="new-keywords",
        )  # fmt: skip
        goal = right.number_input(
            "Goal", min_value=1, value=None, step=1000, placeholder="none", key="new-goal"
        )
        sms_text = st.text_area("SMS text", help=_SMS_HELP, height=80, key="new-sms")
        created = st.form_submit_button("Create appeal", type="primary", key="new-save")
    if not created:
        return
    settings = data.settings()

    def add() -> AppealSummary:
        if not campaign:
            raise BadRequest("choose the campaign, or type a new campaign's slug")
        return registry.add_appeal(
            data.engine(),
            slug=slug.strip(),
            title=title,
            campaign=str(campaign).strip(),
            person=person,
            sms_text=sms_text,
            keywords=words(keywords),
            goal=None if goal is None else int(goal),
            max_segments=settings.alert_max_segments,
            actor=guard.actor(),
        )

    summary = _attempt(add)
    if summary is not None:
        st.session_state[PICKED] = summary.slug  # the page opens the new appeal
        _published(summary, f"Created appeal {summary.slug}: {summary.title}")


def edit_form(appeal: AppealSummary, target: Target) -> None:
    """The same fields (slug and campaign fixed), its target, thank-you texts and milestones."""
    slug = appeal.slug
    k = f"edit-{slug}"
    with st.form(f"appeal-edit-{slug}", border=False):
        left, middle, right = st.columns([1, 2, 1])
        left.text_input("Slug", value=slug, disabled=True, key=f"{k}-slug")
        title = middle.text_input("Title", value=appeal.title, key=f"{k}-title")
        right.text_input(
            "Campaign", value=appeal.campaign_name or appeal.campaign, disabled=True, key=f"{k}-campaign"
        )
        left, middle, right = st.columns([2, 2, 1])
        person = left.text_input("Person", value=appeal.person, key=f"{k}-person")
        keywords = middle.text_input("Keywords", value=" ".join(appeal.keywords), key=f"{k}-keywords")
        goal = right.number_input(
            "Goal", min_value=1, value=appeal.goal, step=1000, placeholder="none", key=f"{k}-goal"
        )
        sms_text = st.text_area("SMS text", value=appeal.sms_text, help=_SMS_HELP, height=80, key=f"{k}-sms")
        left, middle, right = st.columns(3)
        authority = left.text_input("Target authority", value=target.name, key=f"{k}-target")
        email = middle.text_input("Target email", value=target.email, key=f"{k}-email")
        fax = right.text_input(
            "Target fax gateway", value=target.fax, placeholder="0031701234567@fax.example.org",
            help="The email-to-fax gateway's address for the authority's fax number.", key=f"{k}-fax",
        )  # fmt: skip
        left, right = st.columns([2, 1])
        translations = left.text_area(
            "Thank-you translations",
            value=translation_text(appeal.translations),
            placeholder="fr=Merci ! Vous et {others} autres soutenez {person}. Répondez STOP pour arrêter.",
            help="One a line, LANG=text; placeholders {others}, {count}, {person}, {title}. "
            "Each must fit a reply's SMS budget in its language.",
            height=90,
            key=f"{k}-translations",
        )
        with right:
            milestones = forms.milestones_input("Milestones", appeal.milestones, key=f"{k}-milestones")
        saved = st.form_submit_button("Save appeal", type="primary", key=f"{k}-save")
    if not saved or milestones is None:  # a wrong milestone is named under its field
        return
    settings = data.settings()

    def edit() -> dict[str, tuple[object, object]]:
        return registry.edit_appeal(
            data.engine(),
            slug,
            title=title,
            person=person,
            keywords=words(keywords),
            sms_text=sms_text,
            goal=0 if goal is None else int(goal),
            target_name=authority,
            target_email=email,
            target_fax=fax,
            translations=translation_lines(translations),
            milestones=milestones,
            max_segments=settings.alert_max_segments,
            actor=guard.actor(),
        )

    changed = _attempt(edit)
    if changed is None:
        return
    if not changed:
        st.info(f"Nothing to save: {slug} is as it was", icon=":material/info:")
        return
    names = ", ".join(_LABELS.get(name, name.replace("_", " ")) for name in changed)
    _published(registry.get_appeal(data.engine(), slug), f"Saved {slug}: {names}")


def status_row(appeal: AppealSummary, short_code: str) -> None:
    """Feature it on a short code (a bare yes-word there signs it), close it, or reopen it."""
    slug = appeal.slug
    featured = ", ".join(appeal.featured_on) or "no short code"
    st.caption(f"Status: **{appeal.status}** · featured on {featured}")
    with st.container(horizontal=True, vertical_alignment="bottom", key="appeal-status"):
        if appeal.status == "open":
            code = st.text_input("Short code", value=short_code, width=160, key=f"feature-code-{slug}")
            if st.button("Feature on short code", icon=":material/star:", key=f"feature-{slug}"):
                done = _attempt(
                    lambda: registry.feature_appeal(data.engine(), slug, code, actor=guard.actor())
                )
                if done is not None:
                    _published(done, f"A bare yes-word to {code.strip()} now signs {slug}")
            if st.button("Close appeal", icon=":material/lock:", key=f"close-{slug}"):
                done = _attempt(lambda: registry.close_appeal(data.engine(), slug, actor=guard.actor()))
                if done is not None:
                    _published(done, f"Closed {slug} at {done.signatures:,} signatures")
        elif st.button("Reopen appeal", icon=":material/lock_open:", key=f"reopen-{slug}"):
            done = _attempt(lambda: registry.reopen_appeal(data.engine(), slug, actor=guard.actor()))
            if done is not None:
                _published(done, f"Reopened {slug}: new signatures count again")


_SMS_HELP = "The alert text; it must fit the SMS segments an alert may use (CAMPAIGN_ALERT_MAX_SEGMENTS)."
_LABELS = {"target_authority": "target authority", "reply_templates": "thank-you translations"}


def _attempt(change: Callable[[], T]) -> T | None:
    """The change's result, or None after showing its one-sentence error under the form."""
    try:
        return change()
    except CampaignError as error:
        st.error(error.message, icon=":material/error:")
        return None


def _published(summary: AppealSummary, message: str) -> None:
    """On the screens now; the page runs again with its message and fresh tables."""
    if not registry.publish(data.live_writer(), summary):
        message += " (Redis is away: the screens show it when it is back)"
    st.session_state[FLASH] = ("success", message)
    data.forget_deliveries()
    st.rerun()
