"""``campaign appeal``: add, edit, list, feature, close and reopen Urgent Action appeals.

The same core functions as the dashboard's Appeals page: each change is audited and
published to the live view at once, so the screens show it within seconds.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from campaign import audit
from campaign.appeals import registry as appeal_service
from campaign.messaging.bulk import parse_translations
from campaign.runtime import Runtime
from cli.common import (
    GoalOption,
    MilestonesOption,
    NoMilestonesOption,
    StretchStepOption,
    console,
    errors,
    goal_shown,
    open_runtime,
)

appeal_app = typer.Typer(help="Urgent Action appeals.", no_args_is_help=True)


def add_to(app: typer.Typer) -> None:
    app.add_typer(appeal_app, name="appeal")


@appeal_app.command("add")
def appeal_add(
    slug: Annotated[str, typer.Option(help="Short name in URLs, e.g. hassan.")],
    title: Annotated[str, typer.Option(help="Title, e.g. 'Stop the torture of Hassan'.")],
    campaign: Annotated[str, typer.Option(help="Campaign slug; created if new.")],
    person: Annotated[str, typer.Option(help="The person or case, as thank-yous name it.")] = "",
    sms_text: Annotated[
        str, typer.Option(help="The alert text, within CAMPAIGN_ALERT_MAX_SEGMENTS (160 characters at most).")
    ] = "",
    keyword: Annotated[list[str] | None, typer.Option(help="A keyword that signs this appeal.")] = None,
    language: Annotated[str, typer.Option(help="Language of the replies (en, nl, fr, ...).")] = "en",
    thank_you: Annotated[
        str | None, typer.Option(help="Thank-you template: {others}, {count}, {person}, {title}.")
    ] = None,
    target_authority: Annotated[str, typer.Option(help="Who the signatures go to.")] = "",
    target_email: Annotated[str, typer.Option(help="The authority's email address.")] = "",
    target_fax: Annotated[str, typer.Option(help="The authority's email-to-fax gateway address.")] = "",
    country: Annotated[str, typer.Option(help="Country of concern, ISO code.")] = "",
    goal: Annotated[int | None, typer.Option(help="Signatures aimed for.")] = None,
    feature: Annotated[str | None, typer.Option(help="Short code on which a bare JA signs it.")] = None,
    translation: Annotated[
        list[str] | None, typer.Option(help='A thank-you in another language, LANG="text" (repeat it).')
    ] = None,
) -> None:
    """Add an appeal (and its campaign, if new)."""
    rt = open_runtime()
    summary = appeal_service.add_appeal(
        rt.engine,
        slug=slug,
        title=title,
        campaign=campaign,
        person=person,
        sms_text=sms_text,
        keywords=keyword or [],
        language=language,
        thank_you=thank_you,
        target_authority=target_authority,
        target_email=target_email,
        target_fax=target_fax,
        country=country,
        goal=goal,
        feature_on=feature,
        translations=parse_translations(translation or []),
        max_segments=rt.settings.alert_max_segments,
        actor=audit.cli_actor(),
    )
    _publish(rt, summary)
    console.print(f"added appeal [bold]{summary.slug}[/] to campaign {summary.campaign}")


@appeal_app.command("edit")
def appeal_edit(
    slug: str,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    person: Annotated[str | None, typer.Option(help="The person or case.")] = None,
    sms_text: Annotated[
        str | None, typer.Option(help="The alert text, within CAMPAIGN_ALERT_MAX_SEGMENTS.")
    ] = None,
    goal: GoalOption = None,
    country: Annotated[str | None, typer.Option(help="Country of concern, ISO code.")] = None,
    target_name: Annotated[str | None, typer.Option(help="The authority the signatures go to.")] = None,
    target_email: Annotated[
        str | None, typer.Option(help="The authority's email address; '' removes it.")
    ] = None,
    target_fax: Annotated[
        str | None, typer.Option(help="Its email-to-fax gateway address, e.g. 0031701234567@fax.example.org.")
    ] = None,
    private: Annotated[
        bool | None,
        typer.Option(
            "--private/--public",
            help="Keep it off the public counter and widget (and public campaign totals), or put it back.",
        ),
    ] = None,
    milestone: MilestonesOption = None,
    no_milestones: NoMilestonesOption = False,
    stretch_step: StretchStepOption = None,
    keyword: Annotated[
        list[str] | None, typer.Option(help="A keyword that signs it (repeat it; replaces the list).")
    ] = None,
    translation: Annotated[
        list[str] | None,
        typer.Option(help='A thank-you in a language, LANG="text" (repeat it; replaces them all).'),
    ] = None,
    no_translations: Annotated[
        bool, typer.Option("--no-translations", help="Remove the thank-you texts.")
    ] = False,
) -> None:
    """Change an appeal's title, texts, keywords, goal, target, publicity or milestones (what is given)."""
    rt = open_runtime()
    changed = appeal_service.edit_appeal(
        rt.engine,
        slug,
        title=title,
        person=person,
        sms_text=sms_text,
        goal=goal,
        country=country,
        target_name=target_name,
        target_email=target_email,
        target_fax=target_fax,
        private=private,
        milestones=[] if no_milestones else milestone,
        stretch_step=stretch_step,
        keywords=keyword,
        translations={} if no_translations else parse_translations(translation) if translation else None,
        max_segments=rt.settings.alert_max_segments,
        actor=audit.cli_actor(),
    )
    if not changed:
        console.print(f"appeal [bold]{slug}[/] unchanged")
        return
    _publish(rt, appeal_service.get_appeal(rt.engine, slug))
    labels = {"target_authority": "target name", "reply_templates": "thank-you texts"}
    for name, (_, after) in changed.items():
        shown = after if after not in (None, "") else "(none)"
        if name in ("milestones", "stretch_step"):
            shown = goal_shown(name, after)
        if name == "keywords":
            shown = " ".join(after) or "(none)"  # type: ignore[arg-type]
        if name == "reply_templates":
            shown = ", ".join(sorted(after)) or "(none)"  # type: ignore[call-overload]
        if name == "private":
            shown = "yes: off the public counter and widget" if after else "no: on the public counter"
        console.print(f"{labels.get(name, name.replace('_', ' '))}: {shown}", highlight=False)
    console.print(f"updated appeal [bold]{slug}[/]")


@appeal_app.command("list")
def appeal_list() -> None:
    """List the appeals with their signatures."""
    from campaign.appeals.deliveries import latest_by_appeal

    rt = open_runtime()
    delivered = latest_by_appeal(rt.engine)
    table = Table(
        "slug", "campaign", "title", "keywords", "featured on", "status", "signatures", "goal", "delivered"
    )
    for a in appeal_service.list_appeals(rt.engine):
        last = delivered.get(a.slug)
        table.add_row(
            a.slug,
            a.campaign,
            a.title,
            " ".join(a.keywords),
            " ".join(a.featured_on),
            a.status,
            f"{a.signatures:,}",
            f"{a.goal:,}" if a.goal else "",
            f"{last.signatures:,} on {last.created_at.astimezone(rt.settings.tz):%Y-%m-%d}" if last else "",
        )
    console.print(table)


@appeal_app.command("feature")
def appeal_feature(
    slug: str,
    short_code: Annotated[str | None, typer.Option(help="Short code; default CAMPAIGN_SHORT_CODE.")] = None,
) -> None:
    """Make a bare JA on a short code sign this appeal."""
    rt = open_runtime()
    code = short_code or rt.settings.short_code
    summary = appeal_service.feature_appeal(rt.engine, slug, code, actor=audit.cli_actor())
    _publish(rt, summary)
    console.print(f"a bare JA to {code} now signs [bold]{slug}[/]")


@appeal_app.command("close")
def appeal_close(slug: str) -> None:
    """Close an appeal: signatures stay, new ones are no longer counted."""
    rt = open_runtime()
    summary = appeal_service.close_appeal(rt.engine, slug, actor=audit.cli_actor())
    _publish(rt, summary)
    console.print(f"closed appeal [bold]{slug}[/] at {summary.signatures:,} signatures")


@appeal_app.command("reopen")
def appeal_reopen(slug: str) -> None:
    """Reopen a closed appeal: new signatures count again (feature it again if a bare JA should sign it)."""
    rt = open_runtime()
    summary = appeal_service.reopen_appeal(rt.engine, slug, actor=audit.cli_actor())
    _publish(rt, summary)
    console.print(f"reopened appeal [bold]{slug}[/] at {summary.signatures:,} signatures")


def _publish(rt: Runtime, summary: appeal_service.AppealSummary) -> None:
    if not appeal_service.publish(rt.live, summary):
        errors.print("[yellow]Redis not reachable; the screens will pick this up when it is[/]")


# -- figures ----------------------------------------------------------------------------------
