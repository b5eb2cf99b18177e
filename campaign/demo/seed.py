"""The demo data `campaign up` starts with when the database has no appeals.

It is modelled on the two cases the system was designed from: Urgent Actions of the
Campaign Against Torture (one featured on the short code, so a bare JA signs it) and the
Reach Out for Kenya campaign with its Facebook group, Flickr photos, web referrals and
demonstrations in 11 countries; plus past appeals with their outcomes, about a third of
them good, as in the SMS network's experience.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from campaign.activity import demonstrations, social
from campaign.activity.demonstrations import DemonstrationInput
from campaign.activity.social import SocialInput
from campaign.appeals import outcomes
from campaign.appeals import registry as appeals
from campaign.storage.models import Appeal

DEMO_APPEALS = [
    {
        "slug": "hassan",
        "title": "Stop the torture of Hassan",
        "campaign": "torture",
        "campaign_name": "Campaign Against Torture",
        "person": "Hassan",
        "sms_text": "Hassan is held without charge and at risk of torture. Reply JA to demand his safety.",
        "keywords": ["HASSAN"],
        "language": "nl",
        "target_authority": "Minister of the Interior",
        "target_email": "minister@interior.example.org",  # example.org: demo addresses that reach nobody
        "target_fax": "0021671123456@fax.example.org",
        "country": "TN",
        "goal": 25000,
        "featured": True,
    },
    {
        "slug": "kenya",
        "title": "Reach Out for Kenya",
        "campaign": "kenya",
        "campaign_name": "Reach Out for Kenya",
        "person": "the victims of post-election violence",
        "sms_text": "Demand accountability for the post-election violence in Kenya. Reply JA KENYA.",
        "keywords": ["KENYA"],
        "language": "en",
        "target_authority": "Attorney General of Kenya",
        "target_email": "attorney.general@justice.example.org",
        "target_fax": "00254202227461@fax.example.org",
        "country": "KE",
        "goal": 10000,
        "featured": False,
    },
    {
        "slug": "amal",
        "title": "Medical care for Amal",
        "campaign": "torture",
        "campaign_name": "Campaign Against Torture",
        "person": "Amal",
        "sms_text": "Amal is ill in detention and denied a doctor. Reply JA AMAL to demand medical care.",
        "keywords": ["AMAL"],
        "language": "nl",
        "target_authority": "Director of Prisons",
        "target_email": "director@prisons.example.org",
        "country": "EG",
        "goal": 8000,
        "featured": False,
    },
]


# city, country, attendance: the Reach Out for Kenya demonstrations in 11 countries
KENYA_DEMONSTRATIONS = [
    ("Nairobi", "KE", 2500), ("London", "GB", 600), ("Amsterdam", "NL", 350), ("Berlin", "DE", 280),
    ("Paris", "FR", 300), ("Washington", "US", 400), ("Toronto", "CA", 220), ("Johannesburg", "ZA", 500),
    ("Kampala", "UG", 450), ("Stockholm", "SE", 150), ("Oslo", "NO", 120),
]  # fmt: skip

# slug, title, person, country, outcome kind, days from opening to outcome
PAST_APPEALS = [
    ("ali", "Free Ali from incommunicado detention", "Ali", "TN", "whereabouts-disclosed", 21),
    ("samira", "Stop the execution of Samira", "Samira", "IR", "death-sentence-commuted", 64),
    ("joseph", "Find Joseph, disappeared in custody", "Joseph", "CD", "reappeared", 40),
    ("lin", "Medical care for Lin", "Lin", "CN", "no-change", 90),
    ("omar", "Release Omar, prisoner of conscience", "Omar", "EG", "no-change", 120),
    ("maria", "Protect Maria from torture", "Maria", "MX", "worsened", 30),
    ("tomas", "Drop the charges against Tomás", "Tomás", "VE", "charges-dropped", 75),
    ("aziz", "Fair trial for Aziz", "Aziz", "UZ", "no-change", 150),
    ("nadia", "Release Nadia", "Nadia", "BY", None, None),
]


def seed(engine: Engine, short_code: str, *, now: datetime | None = None) -> list[str]:
    """Add the demo data if there are no appeals at all; return the appeal slugs added."""
    with engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(Appeal)):
            return []
    added = []
    for spec in DEMO_APPEALS:
        fields = {k: v for k, v in spec.items() if k != "featured"}
        appeals.add_appeal(
            engine,
            **fields,  # type: ignore[arg-type]
            feature_on=short_code if spec["featured"] else None,
        )
        added.append(str(spec["slug"]))
    moment = now or datetime.now(UTC)
    rng = random.Random(2008)
    _past_appeals(engine, moment, added)
    _kenya_activity(engine, moment, rng)
    return added


def _past_appeals(engine: Engine, now: datetime, added: list[str]) -> None:
    for index, (slug, title, person, country, kind, days) in enumerate(PAST_APPEALS):
        opened = now - timedelta(days=400 - index * 35)
        appeals.add_appeal(
            engine,
            slug=slug,
            title=title,
            campaign="torture",
            person=person,
            country=country,
            opened_at=opened,
        )
        added.append(slug)
        if kind is not None and days is not None:
            outcomes.record(
                engine,
                slug,
                kind,
                occurred_at=min(opened + timedelta(days=days), now),
                source="Urgent Action update",
            )
            if index % 2 == 0:
                appeals.close_appeal(engine, slug)


def _kenya_activity(engine: Engine, now: datetime, rng: random.Random) -> None:
    start = now - timedelta(days=6)
    events: list[SocialInput] = []
    for i in range(420):  # the Facebook group filling up
        events.append(
            SocialInput(
                "facebook", "join", f"demo-join-{i}", start + timedelta(minutes=rng.randrange(8600)), "kenya"
            )
        )
    for kind, count in (("post", 90), ("comment", 260), ("share", 75)):
        for i in range(count):
            moment = start + timedelta(minutes=rng.randrange(8600))
            events.append(SocialInput("facebook", kind, f"demo-{kind}-{i}", moment, "kenya"))
    for i in range(60):
        moment = start + timedelta(minutes=rng.randrange(8600))
        events.append(
            SocialInput(
                "flickr", "photo", f"demo-photo-{i}", moment, "kenya", attributes={"title": f"Candle {i + 1}"}
            )
        )
    for i in range(1000):  # web visits; 15% through Facebook, as the campaign reported
        referrer = "facebook" if rng.random() < 0.15 else rng.choice(["direct", "direct", "search", "email"])
        moment = start + timedelta(minutes=rng.randrange(8600))
        events.append(
            SocialInput("web", "visit", f"demo-visit-{i}", moment, "kenya", attributes={"referrer": referrer})
        )
    social.record(engine, events)
    days = [now - timedelta(days=d) for d in (5, 4, 3, 2, 1, 0, 0, 0, 1, 2, 3)]
    demonstrations.save(
        engine,
        [
            DemonstrationInput(
                "kenya",
                f"Reach Out for Kenya: {city}",
                city,
                country,
                day.replace(hour=12, minute=0, second=0, microsecond=0),
                attendance=attendance,
                organiser="Amnesty International section" if country != "KE" else "Kenyan civil society",
                source="demo",
            )
            for (city, country, attendance), day in zip(KENYA_DEMONSTRATIONS, days, strict=True)
        ],
    )
