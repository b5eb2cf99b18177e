"""Every cache of the dashboard, and its only way to the live figures.

Wall screens and on-air browser sources redraw once a second.  One Redis client per
process is shared through ``st.cache_resource``; one read of all live figures is shared
through ``st.cache_data(ttl=1)``, so ten open screens, whatever they show, cost one Redis
read a second.  Each screen picks its appeals from that shared read.

Screens showing the same appeals also share the figures built from a read (``board``),
and the staff pages read history from SQL through caches of 30 s that a form's write
clears (``forget_history``).

A failed read is a value too (``LiveRead.error``), cached for the same second: while
Redis is away the screens keep what they last showed instead of each waiting on its own
timeout, and the client is set to give up quickly (one reconnect, short timeouts) so a
frozen server cannot hold a screen's update loop.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import redis
import streamlit as st
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from campaign.access import screens, sessions, users
from campaign.access.clients import TrustedProxies
from campaign.access.screens import Screen
from campaign.access.users import UserInfo
from campaign.activity.demonstrations import listing
from campaign.activity.flickr import placed_photos
from campaign.appeals import milestones, outcomes
from campaign.appeals.deliveries import DeliveryRecord
from campaign.appeals.deliveries import history as deliveries_of
from campaign.appeals.petition import Petition
from campaign.appeals.petition import make as make_petition
from campaign.appeals.registry import AppealSummary, Target, list_appeals, list_campaigns, targets
from campaign.history import exports
from campaign.history import queries as history_queries
from campaign.history import rows as history_rows
from campaign.history.filters import Filters
from campaign.live.figures import AppealFigures, CampaignFigures
from campaign.live.view import LiveView, connect
from campaign.messaging import report as outbox_report
from campaign.runtime import redis_url
from campaign.settings import Settings, get_settings
from campaign.storage.db import create_db_engine
from campaign.supporters.phones import PhoneVault
from dashboard import frames, style, tables
from dashboard.board import Board, build_board, shown_campaigns
from dashboard.params import Selection

# A screen updates every second; a read that takes longer than this is a failed read.
TIMEOUT = 0.8
# Countries per appeal for the map's shading: all of them, not the screens' top ten.
COUNTRIES = 300


@dataclass(frozen=True)
class LiveRead:
    """All appeals' live figures at one moment, or why they could not be read."""

    appeals: tuple[AppealFigures, ...] = ()
    campaigns: tuple[CampaignFigures, ...] = ()  # social figures of the appeals' campaigns
    members: int = 0
    ready: bool = False
    read_at: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@st.cache_resource(show_spinner=False)
def _live_view(url: str) -> LiveView:
    """One client (and connection pool) per Redis URL for the whole dashboard process."""
    client = connect(
        url,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),  # one reconnect after a Redis restart, then give up
    )
    return LiveView(client)


@st.cache_data(ttl=1, show_spinner=False, max_entries=8)
def _read(url: str) -> LiveRead:
    try:
        view = _live_view(url)
        appeals = view.many_figures(view.slugs())
        campaigns = sorted({a.campaign for a in appeals if a.campaign})
        return LiveRead(
            appeals=tuple(appeals),
            campaigns=tuple(view.campaign_figures(slug) for slug in campaigns),
            members=view.members(),
            ready=view.is_ready(),
            read_at=time.time(),
        )
    except (redis.RedisError, OSError) as error:
        return LiveRead(read_at=time.time(), error=_brief(error))


def live() -> LiveRead:
    """The live figures of every appeal, at most a second old.

    A reader does not start the embedded Redis server: ``campaign dashboard`` (like
    ``campaign up``) does, and a dashboard started otherwise shows that Redis is away.
    """
    return _read(redis_url(get_settings(), start=False))


def live_writer() -> LiveView:
    """The live view an appeal's change is published to (``campaign.appeals.registry.publish``)."""
    return _live_view(redis_url(get_settings(), start=False))


def timezone() -> ZoneInfo:
    """The organisation's time zone, in which screens show every time."""
    return get_settings().tz


def _brief(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


# -- the Live page's figures, built once per read for every screen ----------------------------------


def board(read: LiveRead, selection: Selection, theme: str, tz: ZoneInfo) -> Board:
    """The Live page's board for ``selection`` from ``read``, shared by every screen.

    Building the three Plotly figures (and the ticker table) from a read took ~41 ms a
    rerun, once a second on every open screen.  Screens showing the same appeals share
    one build per read: it is keyed by the read's timestamp, the selection, the theme and
    the time zone, so N screens cost one build a second, not N.  The figures are shared
    objects: draw them, never change them.
    """
    return _board(read.read_at, selection.key, theme, tz.key, _read=read, _selection=selection)


# A resource cache, not a data cache: st.cache_data would pickle each figure and rebuild
# it (Plotly validates every property on unpickling) for each screen, ~28 ms of the 41 saved.
# Shared objects cost nothing to hand out; st.plotly_chart only reads them.
@st.cache_resource(ttl=10, max_entries=64, show_spinner=False)
def _board(
    read_at: float, selection_key: str, theme: str, zone: str, _read: LiveRead, _selection: Selection
) -> Board:
    tz = ZoneInfo(zone)
    picked = frames.pick(_read.appeals, _selection, only_open=True)
    names = campaign_names()
    demos_today = today(shown_campaigns(picked), tz)
    return build_board(picked, _selection, _read.campaigns, demos_today, names, style.palette(theme), tz)


def today(campaigns: Sequence[str], tz: ZoneInfo) -> pd.DataFrame:
    """The demonstrations of these campaigns today, in the organisation's time zone.

    From SQL at most every 30 s; a wall screen must not stop for the database, so a failed
    read is an empty list for those 30 s.
    """
    day = datetime.now(tz).date()
    return _today(get_settings().resolved_database_url, tz.key, day, tuple(campaigns))


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _today(url: str, zone: str, day: date, campaigns: tuple[str, ...]) -> pd.DataFrame:
    tz = ZoneInfo(zone)
    try:
        every = tables.demonstrations(listing(_engine(url)), tz)
    except (SQLAlchemyError, OSError):
        return tables.demonstrations([], tz)
    return tables.on_day(every, day, list(campaigns))


RECENT_MILESTONES = timedelta(hours=1)  # how long the Live screen names a milestone passed


def recent_milestones(scopes: Sequence[str], tz: ZoneInfo) -> pd.DataFrame:
    """Milestones these scopes passed in the last hour, as ``frames.milestone_marks``.

    At most 5 s old; a wall screen must not stop for the database, so a failed read is none.
    """
    return _recent_milestones(get_settings().resolved_database_url, tuple(sorted(scopes)), tz.key)


@st.cache_data(ttl=5, show_spinner=False, max_entries=32)
def _recent_milestones(url: str, scopes: tuple[str, ...], zone: str) -> pd.DataFrame:
    since = datetime.now(UTC) - RECENT_MILESTONES
    try:
        passed = milestones.announced(_engine(url), since=since, scopes=scopes)
    except (SQLAlchemyError, OSError):
        passed = []
    return frames.milestone_marks(passed, ZoneInfo(zone))


def history_milestones(filters: Filters) -> pd.DataFrame:
    """The milestones History marks for these filters: of the appeals, else the campaigns, else all."""
    settings = get_settings()
    return _history_milestones(
        settings.resolved_database_url, filters.appeals, filters.campaigns, settings.timezone
    )


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _history_milestones(
    url: str, appeals: tuple[str, ...], campaigns: tuple[str, ...], zone: str
) -> pd.DataFrame:
    if appeals:
        scopes: list[str] | None = [milestones.appeal_scope(a) for a in appeals]
    elif campaigns:
        scopes = [milestones.campaign_scope(c) for c in campaigns]
    else:
        scopes = None  # everything: every scope's milestones
    return frames.milestone_marks(milestones.announced(_engine(url), scopes=scopes), ZoneInfo(zone))


def campaign_names() -> dict[str, str]:
    """Campaign names for a wall screen: an empty mapping (slugs are shown) if SQL is away."""
    try:
        return campaigns()
    except (SQLAlchemyError, OSError):
        return {}


# -- history from SQL for the staff pages (and the Live page's "today") -------------------------------


@st.cache_resource(show_spinner=False)
def trusted_proxies() -> TrustedProxies:
    """The proxies whose X-Forwarded-For names the client (CAMPAIGN_TRUSTED_PROXIES), parsed once."""
    return TrustedProxies(get_settings().trusted_proxies)


def settings() -> Settings:
    return get_settings()


def secret_key() -> str:
    """The key session cookies are signed under (``campaign.access.sessions``)."""
    return _secret_key(get_settings().resolved_database_url)


@st.cache_resource(show_spinner=False)
def _secret_key(url: str) -> str:  # keyed by database: tests switch installations in one process
    return get_settings().resolved_secret_key()


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return create_db_engine(url)


def engine() -> Engine:
    """The dashboard's one database engine (and pool), also for the staff forms' writes."""
    return _engine(get_settings().resolved_database_url)


def campaigns() -> dict[str, str]:
    """Every campaign, slug -> name, by name."""
    return _campaigns(get_settings().resolved_database_url)


def demonstrations(campaign: str | None) -> pd.DataFrame:
    """A campaign's demonstrations (every campaign's for None), as ``tables.demonstrations``."""
    settings = get_settings()
    return _demonstrations(settings.resolved_database_url, campaign, settings.timezone)


def flickr_photos(campaign: str | None) -> pd.DataFrame:
    """A campaign's Flickr photos that have a position (every campaign's for None), as ``tables.photos``."""
    settings = get_settings()
    return _photos(settings.resolved_database_url, campaign, settings.timezone)


def outcome_table(campaign: str | None) -> pd.DataFrame:
    """One row per appeal with its latest outcome, as ``campaign.appeals.outcomes.frame``."""
    return _outcomes(get_settings().resolved_database_url, campaign)


def appeal_list() -> list[AppealSummary]:
    """Every appeal, oldest first: what an outcome is recorded for."""
    return _appeals(get_settings().resolved_database_url)


def forget_history() -> None:
    """After a staff form wrote to the database: the next read is fresh, not 30 s old."""
    for cached in (
        _campaigns,
        _demonstrations,
        _photos,
        _outcomes,
        _appeals,
        _today,
        _history,
        _history_milestones,
    ):
        cached.clear()


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _campaigns(url: str) -> dict[str, str]:
    return list_campaigns(_engine(url))


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _demonstrations(url: str, campaign: str | None, zone: str) -> pd.DataFrame:
    return tables.demonstrations(listing(_engine(url), campaign), ZoneInfo(zone))


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _photos(url: str, campaign: str | None, zone: str) -> pd.DataFrame:
    return tables.photos(placed_photos(_engine(url), campaign), ZoneInfo(zone))


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _outcomes(url: str, campaign: str | None) -> pd.DataFrame:
    return outcomes.frame(_engine(url), campaign)


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _appeals(url: str) -> list[AppealSummary]:
    return list_appeals(_engine(url))


# -- signatures by country for the map ---------------------------------------------------------------


@dataclass(frozen=True)
class CountryRead:
    """Every appeal's signatures by country (all countries, not the screens' top ten)."""

    appeals: tuple[AppealFigures, ...] = ()
    error: str | None = None


def country_signatures() -> CountryRead:
    """Signatures by country of every appeal, at most 5 s old (the map is not a wall screen)."""
    return _countries(redis_url(get_settings(), start=False))


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _countries(url: str) -> CountryRead:
    try:
        view = _live_view(url)
        return CountryRead(appeals=tuple(view.many_figures(view.slugs(), top=COUNTRIES)))
    except (redis.RedisError, OSError) as error:
        return CountryRead(error=_brief(error))


# -- History (rollups in SQL, 30 s) -------------------------------------------------------------------

# Signature-level exports on the page are built in memory; larger ones go through the CLI.
PAGE_EXPORT_ROWS = 1_000_000


def history_view(filters: Filters) -> history_rows.View:
    """The History page's figures for these filters; a bad filter raises ``BadRequest``."""
    settings = get_settings()
    return _history(settings.resolved_database_url, filters, settings.timezone)


def history_choices() -> dict[str, list[str]]:
    """Channels, providers, countries and platforms seen so far: what the filters offer."""
    return _history_choices(get_settings().resolved_database_url)


def history_export(kind: exports.Kind, fmt: exports.Format, filters: Filters, actor: str) -> bytes:
    """An export of the filtered view (never cached: each one is made fresh and audited)."""
    settings = get_settings()
    data, _ = exports.to_bytes(
        _engine(settings.resolved_database_url), kind, fmt, filters, actor=actor, tz=settings.tz
    )
    return data


@st.cache_data(ttl=30, show_spinner="Reading history…", max_entries=64)
def _history(url: str, filters: Filters, zone: str) -> history_rows.View:
    return history_rows.view(_engine(url), filters, ZoneInfo(zone))


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _history_choices(url: str) -> dict[str, list[str]]:
    with _engine(url).connect() as connection:
        return history_queries.choices(connection)


# -- petitions and their deliveries, for the Appeals page ---------------------------------------------


def appeal_targets() -> dict[str, Target]:
    """Every appeal's target authority and its addresses."""
    return _targets(get_settings().resolved_database_url)


def petition(slug: str) -> Petition:
    """An appeal's petition (figures, PDF and CSV) as it would be delivered, at most 30 s old."""
    settings = get_settings()
    return _petition(settings.resolved_database_url, slug, settings.timezone)


def delivery_history(slug: str | None = None) -> list[DeliveryRecord]:
    """Deliveries, newest first; of one appeal, or of all."""
    return _deliveries(get_settings().resolved_database_url, slug)


def forget_deliveries() -> None:
    """After a delivery or a change of target: the Appeals page reads afresh."""
    for cached in (_targets, _petition, _deliveries):
        cached.clear()
    forget_history()


@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def _targets(url: str) -> dict[str, Target]:
    return targets(_engine(url))


# Building the PDF takes tens of milliseconds; the page runs again on every click.
@st.cache_data(ttl=30, show_spinner=False, max_entries=16)
def _petition(url: str, slug: str, zone: str) -> Petition:
    return make_petition(_engine(url), slug, zone)


@st.cache_data(ttl=30, show_spinner=False, max_entries=32)
def _deliveries(url: str, slug: str | None) -> list[DeliveryRecord]:
    return deliveries_of(_engine(url), slug)


# -- access: who is looking (a few seconds' cache, so a removal or revocation bites at once) -----


def screen(token: str) -> Screen | None:
    """The screen a token link opens, checked at most every 3 s."""
    return _screen(get_settings().resolved_database_url, token)


@st.cache_data(ttl=3, show_spinner=False, max_entries=256)
def _screen(url: str, token: str) -> Screen | None:
    return screens.verify(_engine(url), token)


def user(name: str, *, fresh: bool = False) -> UserInfo | None:
    """A logged-in user as the database has them (role changed, removed), at most 3 s old.

    ``fresh``: read now, for the check at the start of every full run, so that a session
    ended by a password reset or a role change does not run even once more.
    """
    if fresh:
        return users.find(engine(), name)
    return _user(get_settings().resolved_database_url, name)


@st.cache_data(ttl=3, show_spinner=False, max_entries=256)
def _user(url: str, name: str) -> UserInfo | None:
    return users.find(_engine(url), name)


def session_holds(token: str, *, fresh: bool = False) -> bool:
    """The login's session record is still there, unexpired (no logout elsewhere); at most 3 s old."""
    if fresh:
        return sessions.holds(engine(), token)
    return _session_holds(get_settings().resolved_database_url, token)


@st.cache_data(ttl=3, show_spinner=False, max_entries=256)
def _session_holds(url: str, token: str) -> bool:
    return sessions.holds(_engine(url), token)


def forget_access() -> None:
    """After an admin's change: the next check reads the database."""
    for cached in (_screen, _user, _session_holds):
        cached.clear()


# -- the Messages page: the outbox ---------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRead:
    """The outbox as the Messages page shows it (numbers masked)."""

    statuses: pd.DataFrame
    rate: pd.DataFrame
    failures: pd.DataFrame
    reasons: pd.DataFrame
    opt_outs: pd.DataFrame
    lanes: pd.DataFrame
    in_doubt: pd.DataFrame


def outbox() -> OutboxRead:
    """The outbox's figures, at most 5 s old (the page follows a sending alert)."""
    return _outbox(get_settings().resolved_database_url)


def forget_outbox() -> None:
    """After an alert or outcome message was queued, or texts resent: the next read is fresh."""
    _outbox.clear()


@st.cache_resource(show_spinner=False)
def _vault(url: str) -> PhoneVault:
    return PhoneVault(get_settings().resolved_secret_key())


@st.cache_data(ttl=5, show_spinner=False, max_entries=4)
def _outbox(url: str) -> OutboxRead:
    engine = _engine(url)
    return OutboxRead(
        statuses=outbox_report.by_status(engine),
        rate=outbox_report.sent_per_minute(engine),
        failures=outbox_report.failures(engine, _vault(url)),
        reasons=outbox_report.failure_reasons(engine),
        opt_outs=outbox_report.opt_outs_per_day(engine),
        lanes=outbox_report.lanes(engine),
        in_doubt=outbox_report.in_doubt(engine, _vault(url)),
    )
