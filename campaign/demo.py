"""The demo appeals `campaign up` starts with when the database has none.

They are modelled on the two cases the system was designed from: an Urgent Action
against torture (featured on the short code, so a bare JA signs it) and the Reach Out
for Kenya campaign, plus a second Urgent Action named by keyword.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from campaign import appeals
from campaign.models import Appeal

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
        "country": "EG",
        "goal": 8000,
        "featured": False,
    },
]


def seed(engine: Engine, short_code: str) -> list[str]:
    """Add the demo appeals if there are no appeals at all; return the slugs added."""
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
    return added
