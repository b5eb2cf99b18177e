"""Managing campaigns and appeals: add, edit, list, feature on a short code, close, reopen.

The command line (``campaign appeal ...``) and the dashboard's Appeals page call these same
functions: each checks every value first (one sentence per mistake, ``BadRequest``), writes
the change and its audit entry in one transaction, and ``publish`` then shows it on the
screens (the live view's appeal meta) within a second.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from campaign import audit
from campaign.appeals import milestones as milestone_rules
from campaign.appeals.addresses import check_email, check_fax_gateway
from campaign.errors import BadRequest, NotFound
from campaign.inbound.directory import bump_version
from campaign.inbound.keywords import fold
from campaign.inbound.replies import SMS_LIMIT, budget, group_digits
from campaign.messaging.bulk import check_body, language_code
from campaign.messaging.segments import measure
from campaign.storage import shards
from campaign.storage.models import EVERY_CAMPAIGN, Appeal, Campaign, FeaturedAppeal, Tally, utcnow

if TYPE_CHECKING:
    from campaign.live.writes import LiveWrites

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PLACEHOLDERS = {"others", "count", "person", "title"}
SYSTEM = "system"  # the actor of a change made by a script or a test, not a person
# The count a thank-you is measured with: a reply must fit its budget however many sign.
LARGEST_COUNT = 9_999_999


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
    stretch_step: int | None = None
    sms_text: str = ""
    translations: tuple[tuple[str, str], ...] = ()  # the thank-you texts: (language, template)

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
            # What the watchers announce: the milestones, and the goal when it stretches.
            "milestones": ",".join(
                str(m) for m in milestone_rules.marks(self.milestones, self.goal, self.stretch_step)
            ),
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


def check_sms_text(text: str, max_segments: int = 1) -> str:
    """The alert text an appeal keeps: empty, or within the alerts' segment budget
    (``CAMPAIGN_ALERT_MAX_SEGMENTS``) and the 160 characters an appeal stores."""
    if not text.strip():
        return ""
    checked = check_body(text, max_segments, "sms text")
    if len(checked) > SMS_LIMIT:
        raise BadRequest(f"sms text: {len(checked)} characters; an appeal keeps at most {SMS_LIMIT}")
    return checked


def check_keywords(keywords: list[str]) -> list[str]:
    """Keywords as the inbound matcher folds them, each once, in the order given."""
    words = [fold(k).strip() for k in keywords if k.strip()]
    for word in words:
        if not word or len(word) > 32 or any(c.isspace() for c in word):
            raise BadRequest(f"keyword {word!r}: one word of at most 32 characters")
    return list(dict.fromkeys(words))


def check_translations(translations: Mapping[str, str], person: str = "", title: str = "") -> dict[str, str]:
    """Thank-you texts by language (ISO 639-1 code -> template), each within its reply budget.

    A template is measured with the largest counts and the appeal's title; the person's name
    is shortened at sending when it must be, so it is measured at one letter.
    """
    checked: dict[str, str] = {}
    for code, template in translations.items():
        language = code if code == "default" else language_code(code)
        text = " ".join(template.split())
        if not text:
            continue
        check_template(text)
        count = group_digits(LARGEST_COUNT, language)
        try:
            filled = text.format(others=count, count=count, person=(person or title)[:1], title=title)
        except (IndexError, KeyError, ValueError):  # "{}" or "{0}": a placeholder without a name
            raise BadRequest(f"thank-you in {language!r}: name each placeholder, e.g. {{others}}") from None
        found = measure(filled)
        most = budget(None if language == "default" else language)
        if found.segments > most:
            raise BadRequest(
                f"thank-you in {language!r} needs {found.segments} SMS segments with a count of "
                f"{count} ({found.encoding}, {found.characters} characters); a reply may use {most}"
            )
        checked[language] = text
    return checked


def publish(live: LiveWrites, summary: AppealSummary) -> bool:
    """Show an appeal's title, goal, status, ... on the screens; False when Redis is away
    (the screens pick it up when it is back: the live view is rebuilt from the database)."""
    try:
        live.publish_appeal(summary.public())
    except (redis.RedisError, OSError):
        return False
    return True


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
    translations: Mapping[str, str] | None = None,
    max_segments: int = 1,
    actor: str = SYSTEM,
) -> AppealSummary:
    """Add an appeal, and its campaign when new; audited as ``appeal.add``."""
    check_slug(slug)
    check_slug(campaign, "campaign")
    if campaign == EVERY_CAMPAIGN:
        raise BadRequest(f"campaign {EVERY_CAMPAIGN!r} is reserved: it names every campaign at once")
    if not title.strip():
        raise BadRequest("title: must not be empty")
    sms_text = check_sms_text(sms_text, max_segments)
    if goal is not None and goal < 1:
        raise BadRequest("goal: must be a positive number")
    if country and len(country) != 2:
        raise BadRequest("country: use the two-letter ISO code, e.g. TN")
    target_email = check_email(target_email, "target email")
    target_fax = check_fax_gateway(target_fax, "target fax")
    words = check_keywords(keywords or [])
    templates = check_translations(
        {**(translations or {}), **({language: check_template(thank_you)} if thank_you else {})},
        person.strip(),
        title.strip(),
    )
    with Session(engine) as session, session.begin():
        if session.scalar(select(Appeal.id).where(Appeal.slug == slug)) is not None:
            raise BadRequest(f"appeal {slug!r} exists already")
        _check_keywords_free(session, words, slug)
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
            reply_templates=templates,
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
        detail = {"campaign": campaign, "title": appeal.title, "keywords": words, "goal": goal}
        audit.record(session, actor, "appeal.add", slug, {**detail, "featured_on": feature_on or ""})
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
    stretch_step: int | None = None,
    keywords: list[str] | None = None,
    translations: Mapping[str, str] | None = None,
    max_segments: int = 1,
    actor: str = SYSTEM,
) -> dict[str, tuple[object, object]]:
    """Change what is given (None: unchanged; "" clears a text; goal 0 clears the goal;
    ``keywords``, ``translations`` and ``milestones`` replace the lists, [] or {} empty them).

    ``stretch_step`` (0 removes it) moves the goal on by that many signatures each time the
    total reaches it; a goal the total has passed already moves on at once.

    ``private`` keeps the appeal off the public counter and widget (and out of public
    campaign totals); screens and the on-air feeds still show it.

    Returns what changed, field -> (before, after); every value is checked before any is
    saved.  A change is audited as ``appeal.edit`` with what changed.
    """
    wanted: dict[str, object] = {}
    if title is not None:
        if not title.strip():
            raise BadRequest("title: must not be empty")
        wanted["title"] = title.strip()
    if person is not None:
        wanted["person"] = person.strip()
    if sms_text is not None:
        wanted["sms_text"] = check_sms_text(sms_text, max_segments)
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
    if milestone_rules.check_step(stretch_step) is not None:
        wanted["stretch_step"] = stretch_step or None
    if keywords is not None:
        wanted["keywords"] = check_keywords(keywords)
    changed: dict[str, tuple[object, object]] = {}
    with Session(engine) as session, session.begin():
        appeal = _appeal(session, slug)
        if "keywords" in wanted:
            _check_keywords_free(session, wanted["keywords"], slug)  # type: ignore[arg-type]
        if translations is not None:
            person_now = wanted.get("person", appeal.person)
            title_now = wanted.get("title", appeal.title)
            wanted["reply_templates"] = check_translations(translations, str(person_now), str(title_now))
        scope = milestone_rules.appeal_scope(slug)
        if "goal" in wanted or "milestones" in wanted or "stretch_step" in wanted:
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
            step = wanted.get("stretch_step", appeal.stretch_step)
            goal_now = milestone_rules.stretched(
                new_goal if isinstance(new_goal, int) else None,
                step if isinstance(step, int) else None,
                total or 0,
            )
            if goal_now != new_goal:
                wanted["goal"] = goal_now
            milestone_rules.check_goal(goal_now, milestone_rules.passed(connection, scope))
        for name, value in wanted.items():
            before = getattr(appeal, name)
            if before != value:
                changed[name] = (before, value)
                setattr(appeal, name, value)
        if changed:
            detail = {name: {"before": before, "after": after} for name, (before, after) in changed.items()}
            audit.record(session, actor, "appeal.edit", slug, detail)
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


def feature_appeal(engine: Engine, slug: str, short_code: str, *, actor: str = SYSTEM) -> AppealSummary:
    """Make a bare yes-word on ``short_code`` sign this appeal; audited as ``appeal.feature``."""
    with Session(engine) as session, session.begin():
        appeal = _appeal(session, slug)
        if appeal.status != "open":
            raise BadRequest(f"appeal {slug!r} is closed; a bare JA cannot sign it")
        _feature(session, appeal, short_code)
        audit.record(session, actor, "appeal.feature", slug, {"short_code": short_code.strip()})
        bump_version(session.connection())
    return get_appeal(engine, slug)


def close_appeal(engine: Engine, slug: str, *, actor: str = SYSTEM) -> AppealSummary:
    """Stop counting new signatures (they are answered "closed") and unfeature it; ``appeal.close``."""
    return _set_status(engine, slug, "closed", actor)


def reopen_appeal(engine: Engine, slug: str, *, actor: str = SYSTEM) -> AppealSummary:
    """Count an appeal's signatures again (not featured until featured again); ``appeal.reopen``."""
    return _set_status(engine, slug, "open", actor)


def _set_status(engine: Engine, slug: str, status: str, actor: str) -> AppealSummary:
    with Session(engine) as session, session.begin():
        appeal = _appeal(session, slug)
        if appeal.status == status:
            raise BadRequest(f"appeal {slug!r} is {status} already")
        appeal.status = status
        appeal.closed_at = utcnow() if status == "closed" else None
        unfeatured = []
        if status == "closed":  # a bare JA on its short code no longer signs it
            featuring = select(FeaturedAppeal).where(FeaturedAppeal.appeal_id == appeal.id)
            for featured in session.scalars(featuring):
                unfeatured.append(featured.short_code)
                session.delete(featured)
        action = "appeal.close" if status == "closed" else "appeal.reopen"
        audit.record(session, actor, action, slug, {"unfeatured": sorted(unfeatured)} if unfeatured else {})
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
                stretch_step=appeal.stretch_step,
                sms_text=appeal.sms_text,
                translations=tuple(sorted((appeal.reply_templates or {}).items())),
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


def _check_keywords_free(session: Session, words: list[str], slug: str) -> None:
    """A keyword signs one appeal: refuse one another appeal (open or closed) has."""
    rows = session.execute(select(Appeal.slug, Appeal.status, Appeal.keywords).where(Appeal.slug != slug))
    taken = {fold(k): (other, status) for other, status, ks in rows.all() for k in ks or []}
    for word in words:
        if word in taken:
            other, status = taken[word]
            raise BadRequest(f"keyword {word!r} is used by the {status} appeal {other!r}")


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
