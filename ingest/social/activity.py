"""Social activity stored from the event loop: Meta webhooks, the events API, the beacon.

The write path is blocking SQL, so it runs in a worker thread.  A database that does not
answer is a 503 (the sender retries; nothing was stored); Redis being away is not an error
at all, because the database already holds the events (see ``social.record_live``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from campaign.activity import social
from campaign.activity.social import SocialInput, SocialResult
from campaign.errors import Unavailable
from campaign.runtime import Runtime

T = TypeVar("T")
STORAGE_DOWN = (OperationalError, InterfaceError, PoolTimeout)


async def store(runtime: Runtime, items: list[SocialInput]) -> SocialResult:
    """Record the events and update the live view; 503 when the database is down."""
    try:
        return await asyncio.to_thread(social.record_live, runtime.engine, runtime.live, items)
    except STORAGE_DOWN:
        raise Unavailable("database unavailable; nothing was stored, please retry") from None


async def off_loop(call: Callable[[], T]) -> T:
    """Run a blocking database call in a thread; 503 when the database is down."""
    try:
        return await asyncio.to_thread(call)
    except STORAGE_DOWN:
        raise Unavailable("database unavailable; nothing was stored, please retry") from None
