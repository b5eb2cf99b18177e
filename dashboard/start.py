"""The start page's reading of the appeals: which open ones need a lead's hand, and why."""

from __future__ import annotations

from collections.abc import Sequence

from campaign.appeals.registry import AppealSummary


def needing_attention(appeals: Sequence[AppealSummary]) -> list[tuple[AppealSummary, str]]:
    """Open appeals a lead should look at today, each with the reason, in the appeals' order."""
    found: list[tuple[AppealSummary, str]] = []
    for appeal in appeals:
        if appeal.status != "open":
            continue
        if appeal.goal and appeal.signatures >= appeal.goal:
            found.append((appeal, f"goal of {appeal.goal:,} reached: deliver the petition"))
        elif not appeal.keywords and not appeal.featured_on:
            found.append((appeal, "no keyword and not featured: nobody can sign it by text"))
    return found
