"""The API for machine clients: social events and demonstrations in batches, with a token.

A sample request (the token comes from ``campaign token add NAME``)::

    POST /api/v1/events HTTP/1.1
    Authorization: Bearer cmp_Jx0Vb1...
    Content-Type: application/json

    {"events": [
      {"platform": "facebook", "kind": "join", "campaign": "kenya",
       "occurred_at": "2008-02-27T20:15:00Z", "external_id": "group-join-8812",
       "actor": "2900000000000001", "country": "KE"},
      {"platform": "web", "kind": "visit", "appeal": "kenya", "occurred_at": 1204143300,
       "external_id": "visit-5f1c", "attributes": {"referrer": "facebook"}}]}

    -> 200 {"stored": 2, "duplicates": 0}

``POST /api/v1/demonstrations`` takes a list of demonstrations the same way and answers
``{"saved": n}``.  A batch is checked item by item before anything is stored: one bad item
refuses the whole batch with a 400 naming every bad item by index, so a client can fix
and resend it; resending events is safe, since each is stored once per platform and
external id.  ``actor`` (the platform's user id) is kept only as a keyed hash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from campaign.access import tokens
from campaign.activity import demonstrations, social
from campaign.activity.demonstrations import DemonstrationInput
from campaign.activity.social import SocialInput
from campaign.errors import BadRequest, InvalidItems, Unauthorized
from campaign.runtime import Runtime
from campaign.supporters.phones import PhoneVault
from ingest.jsonbody import bad_text, read_json
from ingest.metrics import count_stored
from ingest.social.activity import off_loop, store

MAX_ITEMS = 500
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")

Scalar = str | int | float | bool | None


class EventItem(BaseModel):
    """One social event as a client sends it."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    campaign: str | None = Field(None, max_length=64)
    appeal: str | None = Field(None, max_length=64)
    occurred_at: AwareDatetime
    external_id: str
    country: str | None = Field(None, max_length=2)
    actor: str | None = Field(None, min_length=1, max_length=200)
    attributes: dict[str, Scalar] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _short_keys(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        if any(not 1 <= len(key) <= 64 for key in value):
            raise ValueError("attribute names: 1 to 64 characters")
        return value


class DemonstrationItem(BaseModel):
    """One demonstration as a client sends it; coordinates are found from the city if left out."""

    model_config = ConfigDict(extra="forbid")

    campaign: str = Field(max_length=64)
    title: str = Field(max_length=200)
    city: str = Field(max_length=120)
    country: str = Field(max_length=60)
    starts_at: AwareDatetime
    latitude: float | None = None
    longitude: float | None = None
    attendance: int | None = None
    organiser: str = Field("", max_length=200)
    links: list[str] = Field(default_factory=list, max_length=20)
    photos: list[str] = Field(default_factory=list, max_length=20)


# -- checking a batch, item by item -----------------------------------------------------------
def batch(payload: Any, key: str) -> list[Any]:
    """The list of items: ``{"<key>": [...]}`` (or a bare list), at most ``MAX_ITEMS``."""
    if isinstance(payload, dict) and set(payload) == {key}:
        payload = payload[key]
    if not isinstance(payload, list):
        raise BadRequest(f'expected {{"{key}": [...]}} with a list of {key}')
    if len(payload) > MAX_ITEMS:
        raise BadRequest(f"{len(payload)} {key} in one request; send at most {MAX_ITEMS} at a time")
    return payload


def check_each(items: list[Any], read: Callable[[Any], T], what: str) -> list[T]:
    """Read every item; one or more bad ones raise InvalidItems naming each by index."""
    good: list[T] = []
    bad: list[tuple[int, str]] = []
    for index, raw in enumerate(items):
        try:
            if not isinstance(raw, dict):
                raise BadRequest(f"each {what} must be a JSON object")
            reason = bad_text(raw)
            if reason:
                raise BadRequest(reason)
            good.append(read(raw))
        except ValidationError as error:
            bad.append((index, describe(error)))
        except BadRequest as error:
            bad.append((index, error.message))
    if bad:
        raise InvalidItems(bad, what=what)
    return good


def describe(error: ValidationError) -> str:
    """Pydantic's errors as one line: ``occurred_at: Input should have timezone info``."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "item"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _utc(moment: datetime, name: str) -> datetime:
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"{name}: out of range") from None
    if utc < EARLIEST:
        raise BadRequest(f"{name}: before 1970")
    return utc


def read_event(raw: dict[str, Any], campaigns: set[str], appeals: set[str], vault: PhoneVault) -> SocialInput:
    item = EventItem.model_validate(raw)
    if (item.campaign is None) == (item.appeal is None):
        raise BadRequest("give the campaign or the appeal (one of them)")
    if item.campaign is not None and item.campaign not in campaigns:
        raise BadRequest(f"no campaign {item.campaign!r}")
    if item.appeal is not None and item.appeal not in appeals:
        raise BadRequest(f"no appeal {item.appeal!r}")
    event = SocialInput(
        platform=item.platform,
        kind=item.kind,
        external_id=item.external_id,
        occurred_at=_utc(item.occurred_at, "occurred_at"),
        campaign=item.campaign,
        appeal=item.appeal,
        country=item.country,
        actor_hash=vault.hash(f"{item.platform}:{item.actor}") if item.actor else None,
        attributes=dict(item.attributes),
    )
    return social.validate(event)


def read_demonstration(raw: dict[str, Any], campaigns: set[str]) -> DemonstrationInput:
    item = DemonstrationItem.model_validate(raw)
    if item.campaign not in campaigns:
        raise BadRequest(f"no campaign {item.campaign!r}")
    demonstration = DemonstrationInput(
        **item.model_dump(exclude={"starts_at"}), starts_at=_utc(item.starts_at, "starts_at"), source="api"
    )
    demonstrations.prepare(demonstration)  # the reason it cannot be saved, e.g. a city not found
    return demonstration


# -- routes (the runtime comes with the app's lifespan state, see ingest.app) -----------------
async def authorise(request: Request, rt: Runtime) -> str:
    """The name of the caller's API token; 401 when it has none or a wrong or revoked one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send Authorization: Bearer <token>; `campaign token add NAME` makes one")
    name = await off_loop(lambda: tokens.verify(rt.engine, token))
    if name is None:
        raise Unauthorized("the token is not known or was revoked")
    return name


async def events(request: Request) -> Response:
    rt: Runtime = request.state.runtime
    await authorise(request, rt)
    items = batch(read_json(await request.body()), "events")
    campaigns, appeals = await off_loop(lambda: social.scopes(rt.engine))
    checked = check_each(items, lambda raw: read_event(raw, campaigns, appeals, rt.vault), "event")
    result = await store(rt, checked) if checked else social.SocialResult()
    count_stored(request, "api", result)
    return JSONResponse({"stored": result.stored, "duplicates": result.duplicates})


async def add_demonstrations(request: Request) -> Response:
    rt: Runtime = request.state.runtime
    await authorise(request, rt)
    items = batch(read_json(await request.body()), "demonstrations")
    campaigns, _ = await off_loop(lambda: social.scopes(rt.engine))

    def check_and_save() -> int:  # the gazetteer lookups are blocking too
        checked = check_each(items, lambda raw: read_demonstration(raw, campaigns), "demonstration")
        return demonstrations.save(rt.engine, checked)

    return JSONResponse({"saved": await off_loop(check_and_save)})


ROUTES = [
    Route("/api/v1/events", events, methods=["POST"]),
    Route("/api/v1/demonstrations", add_demonstrations, methods=["POST"]),
]
