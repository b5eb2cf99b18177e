"""Email addresses as staff type them: the authority's, its fax gateway's, the sender's.

A check of the form only (no DNS look-up: the campaign room may be offline); a mistake is
one sentence naming the value.  An email-to-fax gateway address is an ordinary address
whose local part is the fax number, e.g. ``0031701234567@fax.example.org``.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from campaign.errors import BadRequest

# Local part: the characters real addresses use (no quoting); domain: dot-separated labels
# with a top-level label of letters (or an IDN's xn-- form).
ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
)
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")


def check_email(value: str, what: str = "email", *, limit: int = 254) -> str:
    """The address, stripped; "" stays "" (no address)."""
    address = value.strip()
    if not address:
        return ""
    if len(address) > limit:
        raise BadRequest(f"{what} {address!r}: at most {limit} characters")
    if not ADDRESS.match(address):
        raise BadRequest(f"{what} {address!r} is not an email address (e.g. minister@justice.example.org)")
    return address


def check_fax_gateway(value: str, what: str = "fax", *, limit: int = 40) -> str:
    """An email-to-fax gateway address; a bare fax number is refused with what to give instead."""
    address = value.strip()
    if PHONE_LIKE.match(address):
        digits = re.sub(r"\D", "", address)
        raise BadRequest(
            f"{what} {address!r} is a fax number; give the email-to-fax gateway address, "
            f"e.g. {digits}@fax.example.org"
        )
    if len(address) > limit:
        raise BadRequest(f"{what} {address!r}: at most {limit} characters")
    try:
        return check_email(address, what, limit=limit)
    except BadRequest:
        raise BadRequest(
            f"{what} {address!r} is not an email-to-fax gateway address (e.g. 0031701234567@fax.example.org)"
        ) from None


def check_sender(value: str) -> str:
    """``CAMPAIGN_MAIL_FROM``: an address, with or without a display name."""
    address = parseaddr(value)[1]
    if not address or not ADDRESS.match(address):
        raise ValueError("must be an email address, e.g. 'Amnesty <urgent@amnesty.example>'")
    return value.strip()
