"""Who may see which dashboard page: the roles and the one page-to-role table.

Roles are ordered, each including the ones below it: viewer < staff < lead < admin.
Pages are named by their URL path; a page built later joins with one line in ``PAGES``.
A screen token (see ``campaign.access.screens``) grants one viewer page and nothing else.
"""

from __future__ import annotations

from campaign.errors import BadRequest

ROLES = ("viewer", "staff", "lead", "admin")

# url_path -> the lowest role that sees the page.
PAGES: dict[str, str] = {
    "live": "viewer",
    "on-air": "viewer",
    "map": "staff",  # with the demonstration form
    "outcomes": "staff",
    "history": "staff",
    "messages": "lead",
    "appeals": "lead",
    "admin": "admin",
}


def check_role(role: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise BadRequest(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def includes(role: str, needed: str) -> bool:
    """Whether ``role`` is ``needed`` or above it."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def may_see(role: str, url_path: str) -> bool:
    """Unknown pages are nobody's: a page must be listed in ``PAGES`` to be shown."""
    needed = PAGES.get(url_path)
    return needed is not None and includes(role, needed)


def pages_for(role: str) -> list[str]:
    return [path for path in PAGES if may_see(role, path)]
