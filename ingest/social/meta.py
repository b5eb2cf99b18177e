"""Meta webhooks (Facebook Pages, Workplace groups): ``GET`` and ``POST /webhooks/meta``.

A sample request, as Meta sends it for a comment on a Page's post (one notification may
batch several entries and changes; the signature covers the raw body byte for byte)::

    POST /webhooks/meta HTTP/1.1
    Content-Type: application/json
    X-Hub-Signature-256: sha256=6f1c1e0b0c1d7f0d1f5f7c9a3b2e...

    {"object": "page", "entry": [{"id": "110000000000001", "time": 1204142400,
      "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add",
        "from": {"id": "2900000000000001", "name": "Wanjiru K."},
        "post_id": "110000000000001_220000000000001",
        "comment_id": "220000000000001_330000000000001",
        "parent_id": "110000000000001_220000000000001",
        "created_time": 1204142395, "message": "Amani kwa Kenya"}}]}]}

and, when the webhook is configured, the verification handshake::

    GET /webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock

This is not an SMS provider, so it does not sit behind ``Provider``: it turns Page and
group activity into social events of the campaign the page or group was linked to
(``campaign social link``).  Only additions count (figures only grow): edits, hides and
removals are acknowledged and ignored, as are pages nobody linked and object types or
fields this system does not use.  The actor is kept only as a keyed hash; names and
message texts are never stored.  A valid signed notification is always answered 200
quickly, so Meta does not back off; a malformed one is a 400 with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from campaign.activity import social
from campaign.activity.social import SocialInput, SocialResult
from campaign.errors import BadRequest, Forbidden
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.supporters.phones import PhoneVault
from ingest.jsonbody import read_json
from ingest.metrics import count_stored
from ingest.social.activity import off_loop, store

PATH = "/webhooks/meta"
PLATFORM = "facebook"
SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
META_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
FIRST_POST = datetime(2004, 2, 4, tzinfo=UTC)  # Facebook's first day: older times are wrong

# Page feed items and group post types that are a post of some kind, and the kind counted.
POSTS = {"status": "post", "post": "post", "link": "post", "note": "post", "photo": "photo", "video": "video"}


@dataclass(frozen=True)
class Activity:
    """One countable thing Meta reported, before its campaign is known and its actor hashed."""

    account: str  # the Page or group id the entry is about
    kind: str
    target: str  # the post, comment or share id; or the page or group id for a join
    occurred_at: datetime
    actor: str | None = None  # the platform user id: in memory only, stored as a keyed hash
    per_actor: bool = False  # reactions and joins count once per person and target
    fingerprint: str = ""  # stands in for the actor when Meta names none
    attributes: dict[str, Any] = field(default_factory=dict)

    def external_id(self, actor_hash: str | None) -> str:
        """Stable across Meta's retries: built from Meta's ids, never from arrival time."""
        prefix = "post" if self.kind in ("post", "photo", "video") else self.kind
        if not self.per_actor:
            return f"{prefix}:{self.target}"
        return f"{prefix}:{self.target}:{actor_hash or 'anon-' + self.fingerprint}"

    def to_input(self, campaign: str, vault: PhoneVault) -> SocialInput:
        actor_hash = vault.hash(f"{PLATFORM}:{self.actor}") if self.actor else None
        return SocialInput(
            platform=PLATFORM,
            kind=self.kind,
            external_id=self.external_id(actor_hash),
            occurred_at=self.occurred_at,
            campaign=campaign,
            actor_hash=actor_hash,
            attributes=self.attributes,
        )


# -- signature and handshake ------------------------------------------------------------------
def check_signature(secret: str, body: bytes, header: str | None) -> None:
    """``X-Hub-Signature-256`` is ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    if not secret:
        raise Forbidden("CAMPAIGN_META_APP_SECRET is not set; unsigned requests are refused")
    if not header:
        raise Forbidden("missing X-Hub-Signature-256")
    match = SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise Forbidden("X-Hub-Signature-256 is not sha256=<64 hex digits>")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise Forbidden("X-Hub-Signature-256 does not match the body")


def answer_handshake(verify_token: str, params: dict[str, str]) -> str:
    """The challenge to echo when Meta's verify token is ours; Forbidden otherwise."""
    if not verify_token:
        raise Forbidden("CAMPAIGN_META_VERIFY_TOKEN is not set; the handshake is refused")

    def param(name: str) -> str:  # some proxies turn hub.mode into hub_mode, as PHP does
        return params.get(f"hub.{name}") or params.get(f"hub_{name}") or ""

    if param("mode") != "subscribe":
        raise Forbidden("hub.mode must be subscribe")
    if not hmac.compare_digest(param("verify_token").encode(), verify_token.encode()):
        raise Forbidden("hub.verify_token does not match CAMPAIGN_META_VERIFY_TOKEN")
    challenge = param("challenge")
    if not CHALLENGE.fullmatch(challenge):
        raise BadRequest("hub.challenge: 1 to 128 letters or digits")
    return challenge


# -- reading a notification -------------------------------------------------------------------
def read_notification(payload: Any, now: datetime) -> tuple[list[Activity], int]:
    """The countable activities in a notification, and how many changes were ignored.

    Only the envelope must be right (else BadRequest); a change this system does not use,
    or cannot make sense of, is ignored rather than refused, since Meta would retry a 4xx.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise BadRequest('expected {"object": ..., "entry": [...]}')
    kind = payload.get("object")
    if not isinstance(kind, str):
        raise BadRequest('"object" must be a string such as "page"')
    activities: list[Activity] = []
    ignored = 0
    for entry in payload["entry"]:
        if not isinstance(entry, dict):
            raise BadRequest("each entry must be an object")
        changes: list[Any] = entry["changes"] if isinstance(entry.get("changes"), list) else []
        if isinstance(entry.get("messaging"), list):
            ignored += len(entry["messaging"])  # Messenger conversations are not campaign activity
        account = _meta_id(entry.get("id"))
        sent = _when(entry.get("time"), now, now)
        for change in changes:
            found = None
            if account and isinstance(change, dict) and isinstance(change.get("value"), dict):
                found = _activity(kind, str(change.get("field")), account, change["value"], sent, now)
            if found is None:
                ignored += 1
            else:
                activities.append(found)
    return activities, ignored


def _activity(
    kind: str, field_name: str, account: str, value: dict[str, Any], sent: datetime, now: datetime
) -> Activity | None:
    if value.get("verb") != "add":
        return None  # edited, hide, remove, ...: counts only grow
    when = _when(value.get("created_time") or value.get("update_time"), sent, now)
    if kind == "page" and field_name == "feed":
        return _page_feed(account, value, when)
    if kind == "page" and field_name == "mention":
        target = _meta_id(value.get("comment_id")) or _meta_id(value.get("post_id"))
        return _make(account, "mention", target, when, _actor(value), via="page", value=value)
    if kind == "group" and field_name == "posts":
        kind_of_post = POSTS.get(str(value.get("type")), "post")
        return _make(account, kind_of_post, _meta_id(value.get("post_id")), when, _actor(value), via="group")
    if kind == "group" and field_name == "comments":
        return _make(account, "comment", _meta_id(value.get("comment_id")), when, _actor(value), via="group")
    if kind == "group" and field_name == "membership":
        member = value.get("member")
        actor = _meta_id(member.get("id")) if isinstance(member, dict) else None
        return _make(account, "join", account, when, actor, via="group", per_actor=True, value=value)
    return None


def _page_feed(account: str, value: dict[str, Any], when: datetime) -> Activity | None:
    item = str(value.get("item"))
    actor = _actor(value)
    post_id = _meta_id(value.get("post_id"))
    if item in POSTS:
        target = post_id or _meta_id(value.get("photo_id")) or _meta_id(value.get("video_id"))
        return _make(account, POSTS[item], target, when, actor, via="page", value=value)
    if item == "comment":
        return _make(
            account, "comment", _meta_id(value.get("comment_id")), when, actor, via="page", value=value
        )
    if item == "share":
        target = _meta_id(value.get("share_id")) or post_id
        return _make(account, "share", target, when, actor, via="page", value=value)
    if item in ("reaction", "like"):
        # Meta used to send a "like" and a "reaction" for one like: both count once, per person.
        target = _meta_id(value.get("comment_id")) or post_id or _meta_id(value.get("parent_id"))
        if target is None and item == "like":  # a like of the Page itself: a new follower
            return _make(account, "join", account, when, actor, via="page", per_actor=True, value=value)
        return _make(account, "reaction", target, when, actor, via="page", per_actor=True, value=value)
    return None


def _make(
    account: str,
    kind: str,
    target: str | None,
    when: datetime,
    actor: str | None,
    *,
    via: str,
    per_actor: bool = False,
    value: dict[str, Any] | None = None,
) -> Activity | None:
    target = _without_person(target, account)
    if target is None:
        return None
    attributes: dict[str, Any] = {"via": via, "account": account}
    if value is not None:
        post_id = _without_person(_meta_id(value.get("post_id")), account)
        if post_id and post_id != target:
            attributes["post_id"] = post_id
        reaction = value.get("reaction_type")
        if isinstance(reaction, str) and reaction.isalpha() and len(reaction) <= 20:
            attributes["reaction_type"] = reaction
    fingerprint = ""
    if per_actor and actor is None:  # the same change, retried, gives the same fingerprint
        canonical = json.dumps([account, kind, target, value], sort_keys=True, default=str)
        fingerprint = hashlib.sha256(canonical.encode("utf-8", "replace")).hexdigest()[:32]
    return Activity(account, kind, target, when, actor, per_actor, fingerprint, attributes)


def _without_person(object_id: str | None, account: str) -> str | None:
    """An id safe to keep: a post on a person's timeline is ``<user id>_<post id>``.

    Ids on the campaign's own page or group keep their prefix; any other prefix might be a
    person, so only the part after it (unique by itself) is kept.
    """
    if object_id is None or "_" not in object_id or object_id.startswith(account + "_"):
        return object_id
    return object_id.rsplit("_", 1)[1] or None


def _actor(value: dict[str, Any]) -> str | None:
    sender = value.get("from")
    if isinstance(sender, dict) and _meta_id(sender.get("id")):
        return _meta_id(sender.get("id"))
    return _meta_id(value.get("sender_id")) or _meta_id(value.get("user_id"))


def _meta_id(value: Any) -> str | None:
    """A Meta id as text ("110000000000001", 110000000000001 or "page_post"), or None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if META_ID.fullmatch(text) else None


def _when(value: Any, fallback: datetime, now: datetime) -> datetime:
    """A Meta time (Unix seconds or milliseconds, or ISO 8601), never in the future."""
    moment: datetime | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 100_000_000_000 else value
            moment = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(value, str) and value.isdigit():
            return _when(int(value), fallback, now)
        elif isinstance(value, str) and 10 <= len(value) <= 40:
            moment = datetime.fromisoformat(value)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        moment = None
    if moment is None or moment < FIRST_POST:
        return min(fallback, now)
    return min(moment.astimezone(UTC), now)


# -- routes (settings and runtime come with the app's lifespan state, see ingest.app) ---------
async def handshake(request: Request) -> Response:
    settings: Settings = request.state.settings
    challenge = answer_handshake(settings.meta_verify_token, dict(request.query_params))
    return PlainTextResponse(challenge, headers={"X-Content-Type-Options": "nosniff"})


async def notification(request: Request) -> Response:
    settings: Settings = request.state.settings
    rt: Runtime = request.state.runtime
    body = await request.body()
    check_signature(settings.meta_app_secret, body, request.headers.get("x-hub-signature-256"))
    now = datetime.now(UTC)
    activities, ignored = read_notification(read_json(body), now)
    accounts = sorted({a.account for a in activities})
    linked = await off_loop(lambda: {a: social.campaign_of_account(rt.engine, PLATFORM, a) for a in accounts})
    items: list[SocialInput] = []
    for activity in activities:
        campaign = linked.get(activity.account)
        if campaign is None:  # a page or group nobody linked to a campaign
            ignored += 1
            continue
        items.append(activity.to_input(campaign, rt.vault))
    result = await store(rt, items) if items else SocialResult()
    count_stored(request, "meta", result)
    return JSONResponse({"stored": result.stored, "duplicates": result.duplicates, "ignored": ignored})


ROUTES = [
    Route(PATH, handshake, methods=["GET"], name="meta-handshake"),
    Route(PATH, notification, methods=["POST"], name="meta"),
]
