"""Watching totals for milestones: of each appeal, each campaign and of everything (``all``).

Every ingest process reads the milestones every ``POLL_SECONDS`` (an appeal's from the live
view, a campaign's and the network's from the database, ``campaign.appeals.goals``) and checks
each total the hub takes.  A campaign's total is the sum of its appeals' latest totals, which
only undercounts while an appeal is unseen: a milestone may be noticed a moment late, never
early.  When a total passes a milestone, each process that notices tries to claim it in the
database, which lets exactly one win (also across restarts); the winner announces it on the
live view's channel, and every process's hub passes it on to its viewers.  A stretch goal
moved by the claim is published at once (an appeal's meta) or read at the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from campaign.appeals import goals, milestones
from campaign.appeals import registry as appeals
from campaign.storage.models import EVERY_CAMPAIGN

if TYPE_CHECKING:
    from ingest.overlay import TotalsHub

log = logging.getLogger("campaign.milestones")

POLL_SECONDS = 5.0


class MilestoneWatch:
    def __init__(self, hub: TotalsHub, on_claim: milestones.OnClaim | None = None) -> None:
        self.hub = hub
        self.on_claim = on_claim  # e.g. the leads' texts, queued in the claim's transaction
        self.marks: dict[str, tuple[int, ...]] = {}  # scope -> what it announces
        self.goals: dict[str, goals.ScopeGoals] = {}  # a campaign's (or all's) scope -> its goals
        self._claimed: set[tuple[str, int]] = set()  # tried by this process already
        self._tasks: set[asyncio.Task[None]] = set()

    def goal(self, campaign: str) -> int | None:
        """A campaign's own goal (``all``: the network's), as last read; None if it has none."""
        found = self.goals.get(milestones.campaign_scope(campaign))
        return found.goal if found else None

    def moved(self, appeal: str, total: int) -> None:
        """An appeal's total moved: check it, its campaign's sum and everything's."""
        self._check(milestones.appeal_scope(appeal), total)
        campaign = self.hub.campaign_of.get(appeal)
        if campaign is not None:
            for scope in (milestones.campaign_scope(campaign), EVERY_CAMPAIGN):
                if scope in self.marks:
                    self._check(scope, self._total(scope))

    async def poll(self) -> None:
        while True:
            try:
                await self.read()
            except Exception as error:  # Redis or the database away: the next poll tries again
                log.debug("milestones not read (%s)", error)
            await asyncio.sleep(POLL_SECONDS)

    async def read(self) -> None:
        engine = self.hub.engine
        assert engine is not None
        totals = await asyncio.to_thread(self.hub.view.appeal_totals)
        self.goals = await asyncio.to_thread(goals.every_scope, engine)
        self.hub.campaign_of = {t.slug: t.campaign for t in totals}
        for t in totals:
            self.hub.publish(t.slug, t.total)
        found = {milestones.appeal_scope(t.slug): t.milestones for t in totals if t.milestones}
        found.update({scope: g.marks for scope, g in self.goals.items() if g.marks})
        self.marks = found
        for scope in found:
            self._check(scope, self._total(scope))

    def _total(self, scope: str) -> int:
        kind, _, slug = scope.partition(":")
        latest = self.hub.latest
        if kind == "appeal":
            return latest.get(slug, 0)
        members = [a for a, c in self.hub.campaign_of.items() if scope == EVERY_CAMPAIGN or c == slug]
        return sum(latest.get(a, 0) for a in members)

    def _check(self, scope: str, total: int) -> None:
        due = [m for m in self.marks.get(scope, ()) if m <= total and (scope, m) not in self._claimed]
        if due:
            self._claimed.update((scope, m) for m in due)
            self._spawn(self._claim(scope, due))

    async def _claim(self, scope: str, due: list[int]) -> None:
        engine = self.hub.engine
        assert engine is not None
        for milestone in due:
            try:
                if await asyncio.to_thread(milestones.claim, engine, scope, milestone, None, self.on_claim):
                    at = datetime.now(UTC).isoformat(timespec="seconds")
                    await asyncio.to_thread(self.hub.view.announce_milestone, scope, milestone, at)
                    await self._stretched(scope)
            except Exception as error:  # the database or Redis away: another announcement retries
                self._claimed.discard((scope, milestone))
                log.warning("milestone %s of %s not claimed yet (%s)", milestone, scope, error)

    async def _stretched(self, scope: str) -> None:
        """The claim may have moved a stretch goal: show the new one (and watch for it)."""
        kind, _, slug = scope.partition(":")
        if kind == "appeal":
            summary = await asyncio.to_thread(appeals.get_appeal, self.hub.engine, slug)  # type: ignore[arg-type]
            if summary.stretch_step:
                await asyncio.to_thread(self.hub.view.publish_appeal, summary.public())
                self.marks[scope] = milestones.marks(summary.milestones, summary.goal, summary.stretch_step)
                self._check(scope, self._total(scope))
        elif (found := self.goals.get(scope)) is not None and found.stretch_step:
            self.goals = await asyncio.to_thread(goals.every_scope, self.hub.engine)  # type: ignore[arg-type]
            self.marks[scope] = self.goals[scope].marks
            self._check(scope, self._total(scope))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
