"""Managing campaigns and appeals: add, list, feature on a short code, close."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from campaign.appeals import milestones as milestone_rules
from campaign.appeals.addresses import check_email, check_fax_gateway
from campaign.errors import BadRequest, NotFound
from campaign.inbound.directory import bump_version
from campaign.inbound.keywords import fold
from campaign.inbound.replies import SMS_LIMIT
from campaign.storage import shards
from campaign.storage.models import EVERY_CAMPAIGN, Appeal, Campaign, FeaturedAppeal, Tally, utcnow

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PLACEHOLDERS = {"others", "count", "person", "title"}


@dataclass(frozen=True)
class AppealSummary:
    slug: str
    campaign: str
    title: str
    person: str
    keywords: list[str]
    goal: int | None
    status: str
    featured_on: list[str]
    signatures: int
    opened_at: datetime
    campaign_name: str = ""
    private: bool = False
    milestones: tuple[int, ...] = ()

    def public(self) -> dict[str, object]:
        """What the live view shows of an appeal."""
        return {
            "slug": self.slug,
            "title": self.title,
            "person": self.person,
            "goal": self.goal,
            "status": self.status,
            "campaign": self.campaign,
            "campaign_name": self.campaign_name,
            "private": int(self.private),
            "milestones": ",".join(str(m) for m in self.milestones),
        }


def check_slug(slug: str, what: str = "slug") -> str:
    if not SLUG.match(slug):
        raise BadRequest(f"{what} {slug!r}: use lower-case letters, digits and dashes")
    return slug


def check_template(template: str) -> str:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as error:
        raise BadRequest(f"reply template: {error}") from None
    unknown = names - PLACEHOLDERS
    if unknown:
        raise BadRequest(
            f"reply template: unknown placeholder {{{sorted(unknown)[0]}}}; "
            f"use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}"
        )
    return template


def add_appeal(
    engine: Engine,
    *,
    slug: str,
    title: str,
    campaign: str,
    campaign_name: str | None = None,
    person: str = "",
    sms_text: str = "",
    keywords: list[str] | None = None,
    language: str = "en",
    thank_you: str | None = None,
    target_authority: str = "",
    target_email: str = "",
    target_fax: str = "",
    country: str = "",
    goal: int | None = None,
    feature_on: str | None = None,
    opened_at: datetime | None = None,
) -> AppealSummary:
    check_slug(slug)
    check_slug(campaign, "campaign")
    if campaign == EVERY_CAMPAIGN:
        raise BadRequest(f"campaign {EVERY_CAMPAIGN!r} is reserved: it names every campaign at once")
    if not title.strip():
        raise BadRequest("title: must not be empty")
    if len(sms_text) > SMS_LIMIT:
        raise BadRequest(f"sms text: {len(sms_text)} characters; an SMS holds {SMS_LIMIT}")
    if goal is not None and goal < 1:
        raise BadRequest("goal: must be a positive number")
    if country and len(country) != 2:
        raise BadRequest("country: use the two-letter ISO code, e.g. TN")
    target_email = check_email(target_email, "target email")
    target_fax = check_fax_gateway(target_fax, "target fax")
    words = [fold(k).strip() for k in (keywords or []) if k.strip()]
    with Session(engine) as session, session.begin():
        if session.scalar(select(Appeal.id).where(Appeal.slug == slug)) is not None:
            raise BadRequest(f"appeal {slug!r} exists already")
        taken = {
            fold(k): s
            for s, ks in session.execute(select(Appeal.slug, Appeal.keywords)).all()
            for k in ks or []
        }
        for word in words:
            if word in taken:
                raise BadRequest(f"keyword {word!r} is used by appeal {taken[word]!r}")
        owner = session.scalar(select(Campaign).where(Campaign.slug == campaign))
        if owner is None:
            owner = Campaign(slug=campaign, name=campaign_name or campaign.replace("-", " ").title())
            session.add(owner)
            session.flush()
        appeal = Appeal(
            campaign_id=owner.id,
            slug=slug,
            title=title.strip(),
            person=person.strip(),
            sms_text=sms_text,
            keywords=words,
            language=language,
            reply_templates={language: check_template(thank_you)} if thank_you else {},
            target_authority=target_authority,
            target_email=target_email,
            target_fax=target_fax,
            country=country.upper(),
            goal=goal,
            status="open",
            opened_at=opened_at or utcnow(),
        )
        session.add(appeal)
        session.flush()
        if feature_on:
            _feature(session, appeal, feature_on)
        bump_version(session.connection())
    return get_appeal(engine, slug)


@dataclass(frozen=True)
class Target:
    """Who an appeal's signatures are delivered to."""

    name: str
    email: str
    fax: str

    @property
    def addresses(self) -> list[str]:
        return [address for address in (self.email, self.fax) if address]


def edit_appeal(
    engine: Engine,
    slug: str,
    *,
    title: str | None = None,
    person: str | None = None,
    sms_text: str | None = None,
    goal: int | None = None,
    country: str | None = None,
    target_name: str | None = None,
    target_email: str | None = None,
    target_fax: str | None = None,
    private: bool | None = None,
    milestones: list[int] | None = None,
) -> dict[str, tuple[object, object]]:
    """Change what is given (None: unchanged; "" clears a text; goal 0 clears the goal).

    ``private`` keeps the appeal off the public counter and widget (and out of public
    campaign totals); screens and the on-air feeds still show it.

    Returns what changed, field -> (before, after); every value is checked before any is saved.
    """
    wanted: dict[str, object] = {}
    if title is not None:
        if not title.strip():
            raise BadRequest("title: must not be empty")
        wanted["title"] = title.strip()
    if person is not None:
        wanted["person"] = person.strip()
    if sms_text is not None:
        if len(sms_text) > SMS_LIMIT:
            raise BadRequest(f"sms text: {len(sms_text)} characters; an SMS holds {SMS_LIMIT}")
        wanted["sms_text"] = sms_text
    if goal is not None:
        if goal < 0:
            raise BadRequest("goal: must be a positive number (0 removes the goal)")
        wanted["goal"] = goal or None
    if country is not None:
        if country.strip() and len(country.strip()) != 2:
            raise BadRequest("country: use the two-letter ISO code, e.g. TN")
        wanted["country"] = country.strip().upper()
    if target_name is not None:
        if len(target_name.strip()) > 200:
            raise BadRequest("target name: at most 200 characters")
        wanted["target_authority"] = target_name.strip()
    if target_email is not None:
        wanted["target_email"] = check_email(target_email, "target email")
    if target_fax is not None:
        wanted["target_fax"] = check_fax_gateway(target_fax, "target fax")
    if private is not None:
        wanted["private"] = private
    if milestones is not None:  # [] removes them
        wanted["milestones"] = milestone_rules.check(milestones) or None
    changed: dict[str, tuple[object, object]] = {}
    with Session(engine) as session, session.begin():
        appeal = _appeal(session, slug)
        scope = milestone_rules.appeal_scope(slug)
        if "goal" in wanted or "milestones" in wanted:
            connection = session.connection()
            total = shards.figures(connection, Tally.__table__, [(appeal.id, "total", "")]).get(
                (appeal.id, "total", "")
            )
            # Passed already when set: recorded as passed, never announced as news.
            marks = wanted.get("milestones")
            milestone_rules.record_passed(
                connection, scope, marks if isinstance(marks, list) else [], total or 0
            )
            new_goal = wanted.get("goal", appeal.goal)
            milestone_rules.check_goal(
                new_goal if isinstance(new_goal, int) else None, milestone_rules.passed(connection, scope)
            )
        for name, value in wanted.items():
            before = getattr(appeal, name)
            if before != value:
                changed[name] = (before, value)
                setattr(appeal, name, value)
        if changed:
            bump_version(session.connection())
    return changed


def get_target(engine: Engine, slug: str) -> Target:
    with Session(engine) as session:
        appeal = _appeal(session, slug)
        return Target(appeal.target_authority, appeal.target_email, appeal.target_fax)


def targets(engine: Engine) -> dict[str, Target]:
    """Every appeal's target, by slug."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Appeal.slug, Appeal.target_authority, Appeal.target_email, Appeal.target_fax)
        )
        return {slug: Target(name, email, fax) for slug, name, email, fax in rows}


def feature_appeal(engine: Engine, slug: str, short_code: str) -> AppealSummary:
    with Session(engine) as session, session.begin():
        appeal = _appeal(session, slug)
        if appeal.status != "open":
            raise BadRequest(f"appeal {slug!r} is closed; a bare JA cannot sign it")
        _feature(session, appeal, short_code)
        bump_version(session.connection())
    return get_appeal(engine, slug)


def close_appeal(engine: Engine, slug: str) -> AppealSummary:
    with Session(engine) as session, session.begin():
        appeal = _appeal(session, slug)
        appeal.status = "closed"
        appeal.closed_at = appeal.closed_at or utcnow()
        for featured in session.scalars(select(FeaturedAppeal).where(FeaturedAppeal.appeal_id == appeal.id)):
            session.delete(featured)
        bump_version(session.connection())
    return get_appeal(engine, slug)


def get_appeal(engine: Engine, slug: str) -> AppealSummary:
    for summary in list_appeals(engine):
        if summary.slug == slug:
            return summary
    raise NotFound(f"no appeal {slug!r}")


def list_appeals(engine: Engine) -> list[AppealSummary]:
    with Session(engine) as session:
        featured: dict[int, list[str]] = {}
        for code, appeal_id in session.execute(select(FeaturedAppeal.short_code, FeaturedAppeal.appeal_id)):
            featured.setdefault(appeal_id, []).append(code)
        totals = {
            appeal_id: count
            for appeal_id, _, _, count in session.execute(
                shards.summed(Tally.__table__, Tally.kind == "total")
            )
        }
        rows = session.execute(
            select(Appeal, Campaign.slug, Campaign.name)
            .join(Campaign, Campaign.id == Appeal.campaign_id)
            .order_by(Appeal.opened_at, Appeal.id)
        ).all()
        return [
            AppealSummary(
                slug=appeal.slug,
                campaign=campaign_slug,
                title=appeal.title,
                person=appeal.person,
                keywords=list(appeal.keywords or []),
                goal=appeal.goal,
                status=appeal.status,
                featured_on=sorted(featured.get(appeal.id, [])),
                signatures=totals.get(appeal.id, 0),
                opened_at=appeal.opened_at,
                campaign_name=campaign_name,
                private=bool(appeal.private),
                milestones=tuple(appeal.milestones or ()),
            )
            for appeal, campaign_slug, campaign_name in rows
        ]


def list_campaigns(engine: Engine) -> dict[str, str]:
    """Every campaign's slug and name, by name: what staff pick a campaign from."""
    with engine.connect() as connection:
        rows = connection.execute(select(Campaign.slug, Campaign.name).order_by(Campaign.name, Campaign.slug))
        return {slug: name for slug, name in rows}


def _appeal(session: Session, slug: str) -> Appeal:
    appeal = session.scalar(select(Appeal).where(Appeal.slug == slug))
    if appeal is None:
        raise NotFound(f"no appeal {slug!r}")
    return appeal


def _feature(session: Session, appeal: Appeal, short_code: str) -> None:
    code = short_code.strip()
    if not code or len(code) > 32:
        raise BadRequest("short code: give the number supporters text, e.g. 4777")
    existing = session.get(FeaturedAppeal, code)
    if existing is None:
        session.add(FeaturedAppeal(short_code=code, appeal_id=appeal.id))
    else:
        existing.appeal_id = appeal.id
        existing.featured_at = utcnow()
