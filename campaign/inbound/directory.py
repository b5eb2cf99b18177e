"""The appeals in force, held in memory by the write path and reloaded when they change.

Any change to appeals (add, feature, close) bumps ``appeals_version`` in the database;
the write path compares it once per batch, so a new appeal is signable at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Connection, String, select, update

from campaign.inbound.keywords import KeywordBook
from campaign.inbound.replies import AppealWords
from campaign.storage.db import dialect_insert
from campaign.storage.models import Appeal, Campaign, FeaturedAppeal, SystemValue

VERSION_KEY = "appeals_version"


@dataclass(frozen=True, slots=True)
class AppealInfo:
    id: int
    slug: str
    campaign: str
    title: str
    person: str
    goal: int | None
    status: str
    keywords: tuple[str, ...]
    words: AppealWords

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class Directory:
    version: str
    by_id: dict[int, AppealInfo]
    by_slug: dict[str, AppealInfo]
    featured: dict[str, int]  # short code -> appeal id
    book: KeywordBook


def current_version(connection: Connection) -> str:
    value = connection.scalar(_VERSION_READ)
    return value or "0"


# Built once: every batch asks, and a statement built anew loses what SQLAlchemy memoises on it
# (reading a fresh one's result columns cost more than the rest of the query).
_VERSION_READ = select(SystemValue.value).where(SystemValue.name == VERSION_KEY)


def bump_version(connection: Connection) -> None:
    """Tell every write path that appeals changed."""
    insert = dialect_insert(connection, SystemValue.__table__)
    connection.execute(insert.values(name=VERSION_KEY, value="0").on_conflict_do_nothing())
    connection.execute(
        update(SystemValue)
        .where(SystemValue.name == VERSION_KEY)
        .values(value=(SystemValue.value.cast(BigInteger()) + 1).cast(String(256)))
    )


def load(
    connection: Connection,
    yes_words: tuple[str, ...],
    extra_keywords: dict[str, dict[str, list[str]]] | None = None,
) -> Directory:
    version = current_version(connection)
    appeals = Appeal.__table__.c
    rows = connection.execute(
        select(*appeals, Campaign.slug.label("campaign_slug")).join(
            Campaign, Campaign.id == appeals.campaign_id
        )
    ).mappings()
    by_id: dict[int, AppealInfo] = {}
    keywords: dict[str, str] = {}
    for row in rows:
        info = AppealInfo(
            id=row["id"],
            slug=row["slug"],
            campaign=row["campaign_slug"],
            title=row["title"],
            person=row["person"],
            goal=row["goal"],
            status=row["status"],
            keywords=tuple(row["keywords"] or ()),
            words=AppealWords(
                person=row["person"],
                title=row["title"],
                language=row["language"],
                templates=dict(row["reply_templates"] or {}),
            ),
        )
        by_id[info.id] = info
        for keyword in info.keywords:
            keywords[keyword] = info.slug
    featured = dict(connection.execute(select(FeaturedAppeal.short_code, FeaturedAppeal.appeal_id)).all())
    return Directory(
        version=version,
        by_id=by_id,
        by_slug={info.slug: info for info in by_id.values()},
        featured=featured,
        book=KeywordBook(yes_words, keywords, extra_keywords),
    )
