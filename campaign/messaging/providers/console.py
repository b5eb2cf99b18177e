"""The console provider: texts go to a log file in the data dir and to standard output.

For the demo and development (``CAMPAIGN_SMS_PROVIDER=console``, the default).  A line of
``data/outbox.log`` looks like::

    2026-12-01T02:41:07+00:00  +31 6 ••• ••• 78  #1234  Dank je! Jij en 12.344 anderen staan ...

Only the masked number is written; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys

from campaign.messaging.providers.base import SendResult, SmsProvider
from campaign.settings import Settings
from campaign.storage.models import utcnow
from campaign.supporters.phones import mask, normalise


class ConsoleSender(SmsProvider):
    name = "console"

    def __init__(self, settings: Settings, *, echo: bool = True):
        super().__init__(settings)
        self.path = settings.outbox_log
        self.echo = echo
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def send(self, to: str, body: str, reference: str) -> SendResult:
        line = f"{utcnow():%Y-%m-%dT%H:%M:%S%z}  {mask(normalise(to))}  #{reference}  {body}\n"
        async with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of a whole line with O_APPEND: lines of several senders never mix.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        if self.echo:
            sys.stdout.write("sms " + line)
            sys.stdout.flush()
        return SendResult.sent(f"console-{reference}")
