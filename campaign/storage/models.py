"""The schema: one source of truth for SQLite and PostgreSQL alike.

Times are stored in UTC.  Phone numbers appear only as a keyed hash and a ciphertext.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false as sa_false

from campaign.storage.types import BigId, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The appeal id under which figures of the whole SMS network (members) are tallied.
NETWORK = 0
# The reserved campaign slug that names every appeal at once (/api/v1/campaigns/all, screens).
EVERY_CAMPAIGN = "all"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SystemValue(Base):
    """Facts about the installation, such as the fingerprint of the secret key in use."""

    __tablename__ = "system_values"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Appeal(Base):
    """One Urgent Action case: a person at risk, a target authority, an SMS text, a goal."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    person: Mapped[str] = mapped_column(String(200), default="")
    sms_text: Mapped[str] = mapped_column(String(160), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8), default="en")
    reply_templates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    target_authority: Mapped[str] = mapped_column(String(200), default="")
    target_email: Mapped[str] = mapped_column(String(254), default="")
    target_fax: Mapped[str] = mapped_column(String(40), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    goal: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Kept off the public counter and widget (publicity could endanger someone); screens still show it.
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Round numbers that set things off when the total passes them (see campaign.appeals.milestones).
    milestones: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    # A stretch goal: once the goal is reached it moves on by this many signatures.
    stretch_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ScopeGoal(Base):
    """The goal and milestones of a campaign (``campaign:torture``) or of everything (``all``)."""

    __tablename__ = "scope_goals"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    goal: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    milestones: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    stretch_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class MilestonePassed(Base):
    """A milestone a scope's total passed: one row each, so its event goes out exactly once."""

    __tablename__ = "milestones_passed"
    __table_args__ = (UniqueConstraint("scope", "milestone", name="uq_milestones_passed_scope_milestone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))  # "appeal:hassan"
    milestone: Mapped[int] = mapped_column(BigInteger)
    passed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    announced: Mapped[bool] = mapped_column(Boolean, default=True)  # False: passed before it was set


class FeaturedAppeal(Base):
    """The appeal a bare yes-word signs when texted to this short code."""

    __tablename__ = "featured_appeals"

    short_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    featured_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Supporter(Base):
    __tablename__ = "supporters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    phone_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    country: Mapped[str] = mapped_column(String(2), default="ZZ")
    # ISO 639-1; texts to the supporter use this language's version when there is one.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    member_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    latest_alert_appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), nullable=True)
    # Privacy: the latest signature or text (for retention), and when the number was erased.
    last_active_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Signature(Base):
    """One supporter's support for one appeal; counted once however often they text."""

    __tablename__ = "signatures"
    __table_args__ = (
        UniqueConstraint("appeal_id", "supporter_id", name="uq_signatures_appeal_supporter"),
        Index("ix_signatures_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"))
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    country: Mapped[str] = mapped_column(String(2))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboundMessage(Base):
    """Every inbound text once per provider message id; the body is kept only when unmatched."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_inbound_provider_message"),
        Index("ix_inbound_messages_intent", "intent"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    supporter_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"), nullable=True)
    short_code: Mapped[str] = mapped_column(String(32))
    intent: Mapped[str] = mapped_column(String(16))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MessagePart(Base):
    """One part of a concatenated SMS, kept until all parts are there.

    A part is stored once per provider message id; parts of a completed message are marked
    ``done`` (not deleted at once), so a part the provider sends again later is recognised
    and never mixed into a new message that reuses the same small concat reference.
    """

    __tablename__ = "message_parts"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_message_parts_message"),
        Index("ix_message_parts_set", "provider", "phone_hash", "reference"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    phone_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    part: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    provider_message_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


SHARD = SmallInteger  # a counter shard (campaign.storage.shards)


class Tally(Base):
    """Running counts per appeal, kept in the same transaction as the signatures they count.

    kinds: ``total`` (key ""), ``channel`` (key sms, web, ...), ``country`` (ISO alpha-2),
    ``minute`` (UTC epoch minute), ``members`` (appeal id 0: the whole SMS network).
    The counts only grow, which lets Redis keep them as max-registers.  Each count is a row per
    ``shard`` (``campaign.storage.shards``): its figure is their sum.
    """

    __tablename__ = "tallies"

    appeal_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class CampaignTally(Base):
    """Running counts per campaign (social activity, web visits), like ``Tally`` per appeal.

    kinds: ``social`` (key "facebook:join", "flickr:photo", ...), ``visits`` (key: referring
    platform, or "direct").  Counts only grow.
    """

    __tablename__ = "campaign_tallies"

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class SocialAccount(Base):
    """A page, group or account on a platform, and the campaign whose activity it carries."""

    __tablename__ = "social_accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_social_accounts_platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200), default="")


class SocialEvent(Base):
    """A join, post, comment, reaction, share, photo or web visit, stored once per platform id."""

    __tablename__ = "social_events"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_social_events_platform_id"),
        Index("ix_social_events_campaign_occurred", "campaign_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), nullable=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(191))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    actor_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attributes: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class Demonstration(Base):
    """An offline action at a place and time, with its estimated attendance."""

    __tablename__ = "demonstrations"
    __table_args__ = (
        UniqueConstraint("campaign_id", "city", "starts_at", "title", name="uq_demonstrations_event"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    title: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attendance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    organiser: Mapped[str] = mapped_column(String(200), default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="cli")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Outcome(Base):
    """What happened to the person of an appeal."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    kind: Mapped[str] = mapped_column(String(32))
    good: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(500), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ApiToken(Base):
    """A token for the events API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AuditEntry(Base):
    """Who did what: logins, alerts sent, outcomes recorded, exports, deliveries, erasures.

    ``detail`` never holds a phone number; actors are user names or ``cli:<os user>``.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


# -- history rollups (issue 6): counts per hour and per day, kept with the rows they count ---------
# ``hour`` and ``day`` are whole hours / days since the Unix epoch in UTC, ``month`` whole calendar
# months since January 1970 (UTC): integers compare and group the same on every database, and a
# local date range becomes integer bounds.  Like the tallies, every count is a row per ``shard``
# (``campaign.storage.shards``); the History queries sum ``count``, so shards add up by themselves.


class SignatureHour(Base):
    """Signatures per UTC hour, appeal, channel, provider and country."""

    __tablename__ = "signature_hours"
    __table_args__ = (Index("ix_signature_hours_appeal_hour", "appeal_id", "hour"),)

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appeal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class SignatureMonth(Base):
    """The same counts per UTC calendar month (months since January 1970): years read few rows."""

    __tablename__ = "signature_months"
    __table_args__ = (Index("ix_signature_months_appeal_month", "appeal_id", "month"),)

    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appeal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class SignatureDay(Base):
    """The same counts per UTC day."""

    __tablename__ = "signature_days"
    __table_args__ = (Index("ix_signature_days_appeal_day", "appeal_id", "day"),)

    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appeal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class MemberHour(Base):
    """Supporters who became SMS-network members, per UTC hour, appeal and country.

    ``appeal_id`` is the appeal featured on the number they texted JOIN to (0: none).
    """

    __tablename__ = "member_hours"

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appeal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class SocialHour(Base):
    """Social events (joins, posts, photos, visits...) per UTC hour, campaign, platform and kind."""

    __tablename__ = "social_hours"

    hour: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class Delivery(Base):
    """One delivery of an appeal's petition (PDF and CSV of the figures) to its target authority.

    ``recipients`` and ``message_ids`` are in the same order (a message id is "" for a
    recipient the SMTP server did not take).  The figures delivered are kept with the
    SHA-256 of the PDF, so what was sent can be proven later.  Status: ``sending`` (a
    crash mid-delivery leaves it so), ``sent``, ``partial`` (some recipients failed) or
    ``failed``.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_appeal_at", "appeal_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120), default="")
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    signatures: Mapped[int] = mapped_column(BigInteger, default=0)
    period_start: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    document_sha256: Mapped[str] = mapped_column(String(64))
    csv_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="sending")
    error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class User(Base):
    """A dashboard user: a role, and an argon2 password hash or an e-mail for single sign-on.

    Single sign-on binds the user to the identity provider's issuer and subject at the first
    login with a verified e-mail; later logins match on those, never on the e-mail alone.
    ``session_epoch`` grows whenever the user's access changes (password, role, identity):
    a dashboard session opened under an older epoch ends at its next run.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject", name="uq_users_sso_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    sso_issuer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sso_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class UserSession(Base):
    """A dashboard login that lasts across reloads, tabs and shared links (``campaign.access.sessions``).

    The browser holds a signed cookie with a random token; only its SHA-256 is stored here.
    ``stamp`` is the user's session stamp when the session began (id, creation time,
    ``session_epoch``): once the user's stamp differs, or the user is gone, the session is over.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    stamp: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    client: Mapped[str] = mapped_column(String(64), default="")


class LoginThrottle(Base):
    """Failed logins per user name (``user:<name>``) or per client (``client:<address>``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ScreenToken(Base):
    """A read-only link for one wall screen or broadcast source; only its SHA-256 is stored."""

    __tablename__ = "screen_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    page: Mapped[str] = mapped_column(String(16))
    appeal: Mapped[str | None] = mapped_column(String(64), nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # A rotating wall screen's playlist (campaign.access.rotation) and seconds per page.
    rotate: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    rotate_every: Mapped[int | None] = mapped_column(Integer, nullable=True)


# Texts to many at once; every other kind answers a supporter's own text and goes first.
BULK_KINDS = frozenset({"alert", "outcome"})


def lane_of(kind: str | None) -> str:
    """The outbox lane of a kind of text: ``bulk`` for alerts and outcome messages, else ``reply``."""
    return "bulk" if kind in BULK_KINDS else "reply"


def _lane_of_kind(context: Any) -> str:
    # An insert that names no lane gets the one of its kind.
    return lane_of(context.get_current_parameters().get("kind"))


class OutboxMessage(Base):
    """One text to a supporter, from queued to sent (and delivered), or failed or cancelled.

    It names the supporter, never the number: the sender decrypts the number at the moment of
    sending.  ``dedupe_key`` makes queuing idempotent: an alert or outcome message reaches a
    supporter once, and a thank-you still waiting absorbs further "JA"s (the sender clears
    the key of a thank-you when it claims it, so a later "JA" is answered again).
    ``template`` says how the sender renders a thank-you with the count at sending time.
    ``lane`` is ``reply`` (an answer to the supporter's own text) or ``bulk`` (alerts, outcome
    messages): the sender takes every due reply before any bulk text, and the index on
    (status, lane, scheduled_at, id) finds the next few of a lane however many wait in the other.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_lane_due", "status", "lane", "scheduled_at", "id"),
        Index("ix_outbox_provider_message", "provider", "provider_message_id"),
        Index("ix_outbox_supporter", "supporter_id"),
        Index("ix_outbox_batch", "batch"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    lane: Mapped[str] = mapped_column(String(8), default=_lane_of_kind, server_default="reply")
    supporter_id: Mapped[int] = mapped_column(ForeignKey("supporters.id"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"), nullable=True)
    batch: Mapped[str | None] = mapped_column(String(40), nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(96), unique=True, nullable=True)
    template: Mapped[str | None] = mapped_column(String(24), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    body: Mapped[str] = mapped_column(Text, default="")
    # SMS segments this text costs as the network counts them (GSM 03.38 or UCS-2).
    segments: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
