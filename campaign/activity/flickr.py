"""Photos tagged for a campaign on Flickr, polled from Flickr's REST API and counted once each.

Flickr has no webhooks, so ``campaign poll flickr`` asks ``flickr.photos.search`` for the
campaign's tag, page by page (oldest upload first, so pages do not shift while new photos
arrive), and stores every photo as a social event keyed on its Flickr id: a second poll
stores only what is new.  A photo counts when it was taken (or, if Flickr does not know,
when it was uploaded).  Its place is looked up once per place with ``flickr.places.getInfo``
for the country.  The owner is kept only as a keyed hash; the owner's name is not asked for.

Flickr answers errors with HTTP 200 and ``{"stat": "fail", "code": 100, "message": ...}``;
those, and any HTTP or network failure, become one ``FlickrError`` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, select

from campaign import __version__
from campaign.activity import social
from campaign.activity.geo import country_code
from campaign.activity.social import SocialInput
from campaign.errors import BadRequest, CampaignError
from campaign.live.view import LiveView
from campaign.storage.models import Campaign, SocialEvent
from campaign.supporters.phones import PhoneVault

EXTRAS = "geo,date_taken,date_upload,url_q"
MAX_PER_PAGE = 500  # Flickr's own limit
MAX_PAGES = 100  # Flickr returns at most a few thousand results per search anyway
BASE58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"  # Flickr's short-URL alphabet
FATAL_CODES = {100}  # an invalid API key does not fix itself; other failures may
MAP_PHOTOS = 2000  # the newest photos with a position that the map draws
TAG = re.compile(r"[^\x00-\x1f,]{1,100}(,[^\x00-\x1f,]{1,100}){0,19}")


class FlickrError(CampaignError):
    """Flickr refused or did not answer; the message is one line for a person."""

    status = 502
    code = "flickr_error"

    def __init__(self, message: str, *, flickr_code: int | None = None):
        super().__init__(message)
        self.flickr_code = flickr_code

    @property
    def fatal(self) -> bool:
        return self.flickr_code in FATAL_CODES


@dataclass
class PollReport:
    pages: int = 0
    photos: int = 0
    stored: int = 0
    duplicates: int = 0

    def line(self) -> str:
        return (
            f"{self.photos:,} photo(s) on {self.pages} page(s): "
            f"{self.stored:,} new, {self.duplicates:,} already counted"
        )


class FlickrClient:
    """Flickr's REST API, answering parsed JSON or raising FlickrError."""

    def __init__(self, api_key: str, api_url: str, *, timeout: float = 20.0):
        self.api_key = api_key
        self.api_url = api_url
        self._http = httpx.Client(timeout=timeout, headers={"User-Agent": f"campaign/{__version__}"})
        self._places: dict[str, tuple[str | None, str | None]] = {}

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, **params: str | int) -> dict[str, Any]:
        query = {"method": method, "api_key": self.api_key, "format": "json", "nojsoncallback": 1, **params}
        try:
            response = self._http.get(self.api_url, params=query)
        except httpx.HTTPError as error:
            raise FlickrError(f"could not reach Flickr at {self.api_url} ({type(error).__name__})") from None
        if response.status_code != 200:
            raise FlickrError(f"Flickr answered HTTP {response.status_code} to {method}")
        try:
            data = response.json()
        except ValueError:
            raise FlickrError(f"Flickr's answer to {method} is not JSON") from None
        if not isinstance(data, dict):
            raise FlickrError(f"Flickr's answer to {method} is not a JSON object")
        if data.get("stat") != "ok":
            code = data.get("code")
            message = str(data.get("message") or "no reason given")[:200]
            number = code if isinstance(code, int) else None
            raise FlickrError(f"Flickr: {message} (code {code})", flickr_code=number)
        return data

    def search(self, tag: str, page: int, per_page: int) -> dict[str, Any]:
        """One page of photos with the tag: ``{"page", "pages", "perpage", "total", "photo": [...]}``."""
        data = self.call(
            "flickr.photos.search",
            tags=tag,
            tag_mode="any",
            extras=EXTRAS,
            sort="date-posted-asc",
            per_page=per_page,
            page=page,
        )
        photos = data.get("photos")
        if not isinstance(photos, dict) or not isinstance(photos.get("photo"), list):
            raise FlickrError("Flickr's search answer has no photos list")
        return photos

    def place(self, place_id: str) -> tuple[str | None, str | None]:
        """(place name, ISO country code) of a Flickr place, asked once per place; (None, None) if unknown."""
        if place_id not in self._places:
            name = code = None
            try:
                info = self.call("flickr.places.getInfo", place_id=place_id).get("place") or {}
                name = str(info.get("name") or "")[:200] or None
                country = (info.get("country") or {}).get("_content")
                code = country_code(str(country)) if country else None
            except (FlickrError, BadRequest, AttributeError):
                pass  # the photo still counts, without a country
            self._places[place_id] = (name, code)
        return self._places[place_id]


def short_url(photo_id: str) -> str:
    """``https://flic.kr/p/...``: the photo's page without the owner's id in it."""
    number, digits = int(photo_id), ""
    while number:
        number, rest = divmod(number, 58)
        digits = BASE58[rest] + digits
    return f"https://flic.kr/p/{digits or BASE58[0]}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _taken(photo: dict[str, Any], uploaded: datetime) -> datetime | None:
    if str(photo.get("datetakenunknown", "0")) == "1":
        return None
    try:
        taken = datetime.fromisoformat(str(photo.get("datetaken"))).replace(tzinfo=UTC)
    except ValueError:
        return None
    # Camera clocks are often wrong: a photo taken after its upload (or before 1990) was not.
    return taken if datetime(1990, 1, 1, tzinfo=UTC) <= taken <= uploaded else None


def photo_event(
    photo: dict[str, Any], campaign: str, vault: PhoneVault, client: FlickrClient | None = None
) -> SocialInput | None:
    """The social event for one photo of a search page, or None when it is not a photo."""
    photo_id = str(photo.get("id", ""))
    upload = _number(photo.get("dateupload"))
    if not photo_id.isdigit() or len(photo_id) > 30 or upload is None:
        return None
    uploaded = min(datetime.fromtimestamp(upload, UTC), datetime.now(UTC))
    taken = _taken(photo, uploaded)
    latitude, longitude = _number(photo.get("latitude")), _number(photo.get("longitude"))
    if not latitude and not longitude:  # Flickr says 0, 0 for "no location"
        latitude = longitude = None
    place_name = country = None
    place_id = photo.get("place_id")
    if client is not None and isinstance(place_id, str) and 0 < len(place_id) <= 64:
        place_name, country = client.place(place_id)
    thumbnail = photo.get("url_q")
    owner = photo.get("owner")
    return SocialInput(
        platform="flickr",
        kind="photo",
        external_id=photo_id,
        occurred_at=taken or uploaded,
        campaign=campaign,
        country=country,
        actor_hash=vault.hash(f"flickr:{owner}") if owner else None,
        attributes={
            "title": str(photo.get("title") or "")[:200],
            "taken_at": taken.isoformat() if taken else None,
            "latitude": latitude,
            "longitude": longitude,
            "thumbnail": thumbnail
            if isinstance(thumbnail, str) and thumbnail.startswith("https://")
            else None,
            "place": place_name,
            "url": short_url(photo_id),
        },
    )


def check_tag(tag: str) -> str:
    tag = tag.strip()
    if not TAG.fullmatch(tag):
        raise BadRequest("tag: 1 to 100 characters (several separated by commas), e.g. reachoutforkenya")
    return tag


def poll(
    engine: Engine,
    live: LiveView,
    vault: PhoneVault,
    client: FlickrClient,
    campaign: str,
    tag: str,
    *,
    per_page: int = 250,
) -> PollReport:
    """Walk every page of photos with the tag; store the new ones page by page."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise BadRequest(f"per page: 1 to {MAX_PER_PAGE}")
    tag = check_tag(tag)
    report = PollReport()
    page = 1
    while True:
        found = client.search(tag, page, per_page)
        items = [
            event
            for photo in found["photo"]
            if isinstance(photo, dict) and (event := photo_event(photo, campaign, vault, client)) is not None
        ]
        result = social.record_live(engine, live, items)
        report.pages += 1
        report.photos += len(items)
        report.stored += result.stored
        report.duplicates += result.duplicates
        pages = int(_number(found.get("pages")) or 1)
        if not found["photo"] or page >= min(pages, MAX_PAGES):
            return report
        page += 1


def placed_photos(
    engine: Engine, campaign: str | None = None, limit: int = MAP_PHOTOS
) -> list[dict[str, Any]]:
    """The newest Flickr photos that have a position, oldest first, for the map.

    Each: campaign, title, url (the photo's page), thumbnail (Flickr's address, or None),
    latitude, longitude, occurred_at.  Photos without a position are left out."""
    query = (
        select(SocialEvent.occurred_at, SocialEvent.attributes, Campaign.slug)
        .join(Campaign, Campaign.id == SocialEvent.campaign_id)
        .where(SocialEvent.platform == "flickr", SocialEvent.kind == "photo")
        .order_by(SocialEvent.occurred_at.desc(), SocialEvent.id.desc())
    )
    if campaign:
        query = query.where(Campaign.slug == campaign)
    found: list[dict[str, Any]] = []
    with engine.connect() as connection:
        # Positions live in the attributes (JSON): read newest first until enough have one.
        for occurred_at, attributes, slug in connection.execute(query.execution_options(yield_per=500)):
            latitude, longitude = _number(attributes.get("latitude")), _number(attributes.get("longitude"))
            if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
                continue
            found.append(
                {
                    "campaign": slug,
                    "title": str(attributes.get("title") or ""),
                    "url": str(attributes.get("url") or ""),
                    "thumbnail": attributes.get("thumbnail"),
                    "latitude": latitude,
                    "longitude": longitude,
                    "occurred_at": occurred_at,
                }
            )
            if len(found) >= limit:
                break
    return found[::-1]
