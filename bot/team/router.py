"""The router: the engine part that offers waiting referrals and hands on offers not accepted in time.

Slack presence is asked outside any transaction (a Web API call must not hold row locks), through the `Presence`
seam the composition root fills. A move then runs as one unit of work keyed by the route's step; if the rotation it
finds under lock reaches a rep whose presence was not asked yet (another instance moved the cursor meanwhile), the
work is rolled back, that presence is asked, and the move is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot.core.periodic import Periodic
from bot.core.routes import Route
from bot.core.unit_of_work import Units, Work
from bot.team.alerts import Alerts
from bot.team.routing import Offers, Passed, is_new, pending_of, route_open

log = logging.getLogger(__name__)
ATTEMPTS = 4  # the last one offers to a rep whose presence is still unknown rather than wait again
BATCH = 50


class Presence(Protocol):
    async def away(self, user_id: str) -> bool:
        """Whether Slack shows the person away; False when it cannot tell (no users:read scope, an error)."""


class EveryoneThere:
    """Presence where the team's chat cannot tell: nobody is away but by `/referrals away`."""

    async def away(self, user_id: str) -> bool:
        return False


class NeedPresence(Exception):
    """The rotation reached reps whose presence was not asked in this pass: ask, then try again."""

    def __init__(self, order: Sequence[str]) -> None:
        super().__init__(", ".join(order))
        self.order = tuple(order)


class Router(Periodic):
    what = "routing pass"

    def __init__(self, units: Units, alerts: Alerts, presence: Presence, poll_seconds: float = 0.5) -> None:
        super().__init__(poll_seconds)
        self._units = units
        self._presence = presence
        self.offers = Offers(units, alerts)

    async def sweep(self) -> int:
        now = self._units.clock.now()
        async with self._units.store.reading() as tx:
            due = await tx.due_routes(now, BATCH)
        seen: dict[str, bool] = {}  # presence asked in this pass: rep -> away
        for route in due:
            await self.move(route, seen)
        return len(due)

    async def move(self, route: Route, seen: dict[str, bool]) -> None:
        for attempt in range(ATTEMPTS):
            try:
                async with self._units.once(f"route:{route.referral_id}:{route.step}") as w:
                    if w is not None:
                        await self._step(w, route, seen, final=attempt == ATTEMPTS - 1)
                return
            except NeedPresence as need:
                await self._ask(need.order, seen)

    async def _ask(self, order: Sequence[str], seen: dict[str, bool]) -> None:
        """Presence along the rotation, up to the first rep there: usually one call."""
        for rep in order:
            if rep not in seen:
                seen[rep] = await self._presence.away(rep)
            if not seen[rep]:
                return

    async def _step(self, w: Work, route: Route, seen: dict[str, bool], final: bool) -> None:
        referral = await w.tx.referral(route.referral_id)  # locked first, as every routing path does
        current = await w.tx.route(route.referral_id)
        if current is None or not await route_open(current, referral, route.step, w.now):
            return
        assert referral is not None  # route_open checked it
        offers = await w.tx.offers_of(referral.id)
        pending = pending_of(offers)
        if not is_new(referral):  # claimed, closed or erased meanwhile: nothing to offer
            await self.offers.close(w, referral.id, actor="", accepted=False)
            return
        away = pending is not None and await _away(w, pending.rep)  # said so: handed on before the deadline
        if pending is not None and not away and pending.due_at > w.now:  # away, then back before this move
            await w.tx.move_route(referral.id, "offered", pending.due_at, w.now)
            return
        tried = {offer.rep for offer in offers}
        rep, passed = await self._next_rep(w, current.pool, tried, seen, final)
        if pending is not None:  # settled by its rep when they went away
            await self.offers.settle(w, pending, "handed_on", by=pending.rep if away else None, next_rep=rep)
        if rep is None:
            await self.offers.unroute(w, referral, passed)
            return
        turn = await w.tx.advance_cursor(current.pool, rep, w.now)
        await self.offers.offer(w, referral, current.pool, rep, turn, previous=pending)
        if pending is not None:
            event = "away" if away else "handed_on"
            await self.offers.thread(w, referral.id, event, rep=rep, previous=pending.rep)

    async def _next_rep(
        self, w: Work, pool: str, tried: set[str], seen: dict[str, bool], final: bool
    ) -> tuple[str | None, Passed]:
        """The next rep of the pool's rotation who may take it, and why the others may not."""
        reps = self._units.program.routing.reps_of(pool)
        last, _ = await w.tx.route_cursor(pool, w.now)  # locked until the commit: one pick at a time
        start = reps.index(last) + 1 if last in reps else 0
        order = [reps[(start + i) % len(reps)] for i in range(len(reps))]
        members = await w.tx.team_members(order)
        away = tuple(rep for rep in order if rep in members and members[rep].away)
        candidates = [rep for rep in order if rep not in tried and rep not in away]
        for rep in candidates:
            if rep not in seen and not final:
                raise NeedPresence(candidates)
            if not seen.get(rep, False):
                return rep, Passed()
        presence_away = tuple(rep for rep in candidates if seen.get(rep))
        declined = tuple(rep for rep in reps if rep in tried and rep not in away)  # away says why: once is enough
        return None, Passed(away, presence_away, declined)


async def _away(w: Work, rep: str) -> bool:
    member = await w.tx.team_member(rep)
    return member is not None and member.away
