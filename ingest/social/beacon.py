"""The referral link: ``GET /r/{campaign}?from=facebook&to=/en/get-involved/kenya``.

A sample request, as a supporter's browser sends it after clicking the link in a post::

    GET /r/kenya?from=facebook&to=/en/latest/campaigns/2008/02/reach-out-for-kenya HTTP/1.1
    Referer: https://l.facebook.com/

    -> 302 Location: https://www.amnesty.org/en/latest/campaigns/2008/02/reach-out-for-kenya

Each click is stored as a web visit of the campaign with where it came from (the ``from``
parameter, else the Referer's site, else "direct"), which is how the campaign room sees the
share of website visits brought by Facebook.  The redirect only ever goes to a path on the
configured website (``CAMPAIGN_WEB_URL``), never to another host.  Link-preview crawlers
(Facebook fetches every shared link) and ``HEAD`` requests are redirected without counting.
No cookie, no IP address and no user agent is stored.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campaign.activity.social import PLATFORMS, SocialInput
from campaign.errors import BadRequest
from campaign.settings import Settings
from ingest.metrics import count_stored
from ingest.social.activity import store

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_PATH = 500
# Characters a path (with its query and fragment) may carry unescaped on the way through.
PATH_SAFE = "/-._~!$&'()*+,;=:@%?#"
REFERRERS = tuple(sorted(PLATFORMS - {"web"}))
SITES = {  # the registrable part of a Referer's host -> platform
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "messenger.com": "facebook",
    "instagram.com": "instagram",
    "flickr.com": "flickr",
    "flic.kr": "flickr",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "t.co": "twitter",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "tiktok.com": "tiktok",
    "whatsapp.com": "whatsapp",
    "wa.me": "whatsapp",
}
CRAWLERS = re.compile(r"facebookexternalhit|facebot|twitterbot|whatsapp|bot\b|crawler|spider|preview", re.I)


def referrer(from_param: str | None, referer_header: str | None, own_host: str) -> str:
    """Where a visit came from: a platform name, "other" or "direct"."""
    if from_param:
        name = from_param.strip().lower()
        return name if name in REFERRERS else "other"
    if not referer_header:
        return "direct"
    try:
        host = (urlsplit(referer_header.strip()).hostname or "").lower()
    except ValueError:  # e.g. a broken IPv6 address
        return "other"
    if not host or host == own_host:
        return "direct"
    for site, platform in SITES.items():
        if host == site or host.endswith("." + site):
            return platform
    return "other"


def destination(web_url: str, to: str | None) -> str:
    """The website URL with ``to`` as a path on it; BadRequest for anything else."""
    base = web_url.rstrip("/")
    if not to:
        return web_url
    if len(to) > MAX_PATH:
        raise BadRequest(f"to: at most {MAX_PATH} characters")
    if not to.startswith("/") or to.startswith("//") or "\\" in to or any(ord(c) < 32 for c in to):
        raise BadRequest("to: a path on the campaign website, starting with a single /")
    # Everything after the website's own "/" is path, so no input can change the host.
    return base + quote(to, safe=PATH_SAFE)


async def visit(request: Request) -> Response:
    """Count the click (unless a crawler's or a HEAD) and send the browser on to the website."""
    settings: Settings = request.state.settings  # the app's lifespan state, see ingest.app
    campaign = request.path_params["campaign"]
    if not SLUG.fullmatch(campaign):
        raise BadRequest("the campaign in the link is not a campaign slug (e.g. /r/kenya)")
    target = destination(settings.web_url, request.query_params.get("to"))
    agent = request.headers.get("user-agent", "")
    if request.method == "GET" and not CRAWLERS.search(agent):
        own_host = urlsplit(settings.public_url).hostname or ""
        came_from = referrer(request.query_params.get("from"), request.headers.get("referer"), own_host)
        event = SocialInput(
            platform="web",
            kind="visit",
            external_id=str(uuid.uuid4()),
            occurred_at=datetime.now(UTC),
            campaign=campaign,
            attributes={"referrer": came_from},
        )
        result = await store(request.state.runtime, [event])  # an unknown campaign is a 404 here
        count_stored(request, "beacon", result)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


ROUTES = [Route("/r/{campaign}", visit, methods=["GET", "HEAD"], name="referral")]
