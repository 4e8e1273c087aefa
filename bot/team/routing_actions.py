"""What people do with routing: a rep accepts an offer or says they are away, a manager reassigns a referral, and
`/referrals reps` counts each rep's offers."""

from __future__ import annotations

from datetime import datetime

from bot.core.models import Status
from bot.core.routes import RepRouting
from bot.core.unit_of_work import Units, Work
from bot.team.alerts import EVER, Alerts
from bot.team.languages import reader_locale
from bot.team.routing import Offers, friend_name, pending_of
from bot.team.workflow import OPEN, Outcome, TeamService
from storage.base import Store


class RoutingActions:
    def __init__(self, units: Units, alerts: Alerts, team: TeamService) -> None:
        self._units = units
        self._alerts = alerts
        self._team = team
        self._screens = units.screens
        self._offers = Offers(units, alerts)

    async def accept(self, inbound_id: str, referral_id: str, user: str) -> Outcome:
        """Accept is the rep's claim, taken only while the offer is theirs; every effect of a claim follows."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return Outcome()
            referral = await w.tx.referral(referral_id)  # locked before the route, as every routing path does
            await w.tx.route(referral_id)
            offers = await w.tx.offers_of(referral_id)
            pending = pending_of(offers)
            if referral is not None and referral.status == Status.NEW and pending is not None and pending.rep == user:
                return await self._team.act_in(w, referral_id, "claim", user)
            mine = next((offer for offer in reversed(offers) if offer.rep == user), None)
            if referral is None or referral.status not in OPEN:
                return await self._refusal(w, user, "closed")
            if referral.status != Status.NEW:
                reason = "yours" if referral.assignee == user else "taken"
                return await self._refusal(w, user, reason, rep=referral.assignee)
            if mine is not None and mine.status in ("handed_on", "reassigned"):
                away = mine.status == "handed_on" and mine.settled_by == user  # they said they were away
                return await self._refusal(w, user, "away" if away else mine.status, rep=mine.next_rep)
            return await self._refusal(w, user, "not_offered")

    async def reassign(self, inbound_id: str, referral_id: str, manager: str, rep: str) -> Outcome:
        """A manager gives the referral to `rep`: a new offer while nobody has it, else the work changes hands."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return Outcome()
            if not self._alerts.team.is_manager(manager):  # the button's guard let only managers open the form
                return await self._refusal(w, manager, "not_manager")
            referral = await w.tx.referral(referral_id)
            if referral is None or referral.status not in OPEN:
                return await self._refusal(w, manager, "closed")
            if rep == referral.assignee:
                return await self._refusal(w, manager, "same", rep=rep)
            route = await w.tx.route(referral_id)
            if route is None:  # routed before routing was on, or never: it joins its pool now
                referrer = await w.tx.customer(referral.referrer_id)
                pool = self._units.program.routing.pool_for(referrer.segment if referrer else "")
                await w.tx.start_route(referral_id, pool, w.now)
                route = await w.tx.route(referral_id)
            assert route is not None
            pending = pending_of(await w.tx.offers_of(referral_id))
            if pending is not None and pending.rep == rep:
                return await self._refusal(w, manager, "same", rep=rep)
            if pending is not None:
                await self._offers.settle(w, pending, "reassigned", by=manager, next_rep=rep)
            if referral.status == Status.NEW:
                await self._offers.offer(w, referral, route.pool, rep, None, previous=pending)
            else:
                await self._hand_over(w, referral.id, referral.assignee, manager, rep)
            await self._offers.thread(w, referral.id, "reassigned", rep=rep, actor=manager, previous=referral.assignee)
        return Outcome()

    async def _hand_over(self, w: Work, referral_id: str, previous: str | None, manager: str, rep: str) -> None:
        """A claimed referral changes hands: the new rep is told in a DM, the card shows them."""
        await w.tx.update_referral(referral_id, assignee=rep, updated_at=w.now)
        referral = await w.tx.referral(referral_id)
        assert referral is not None
        await w.tx.log_event(
            "referral.reassigned", w.now, actor=f"slack:{manager}", subject=referral_id, previous=previous, rep=rep
        )
        locale = await reader_locale(w, self._screens, rep)
        text = self._screens.team(
            "routing_handed_to_you",
            locale=locale,
            friend=await friend_name(w, referral),
            actor=manager,
            channel=self._alerts.team.alert_channel,
        )
        await self._alerts.direct(w, rep, text, referral_id)
        await self._alerts.refresh(w, referral_id)

    async def set_away(self, inbound_id: str, user: str, away: bool) -> str:
        """`/referrals away` or `back`: the answer, in the rep's language. Routing skips an away rep from now on,
        and what waits for them to accept is handed on at once."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return ""
            changed = await w.tx.set_member_away(user, away, w.now)
            if changed:
                await w.tx.log_event("routing.away" if away else "routing.back", w.now, actor=f"slack:{user}")
            handed_on = await self._due_now(w, user) if away else 0
            locale = await reader_locale(w, self._screens, user)
            routed = self._units.program.routing.routed
            text = self._screens.team(
                "routing_away", locale=locale, away=away, changed=changed, routed=routed, handed_on=handed_on
            )
        return text

    async def _due_now(self, w: Work, user: str) -> int:
        """The rep's pending offers fall due now, committed with their being away: the router then hands each on
        as at a deadline (bot/team/router.py), under the same locks, once, on whichever instance, and says why.
        Returns how many."""
        due = 0
        for offer in await w.tx.pending_offers_to(user):
            await w.tx.referral(offer.referral_id)  # locked before the route, as every routing path does
            route = await w.tx.route(offer.referral_id)
            pending = pending_of(await w.tx.offers_of(offer.referral_id))
            if route is None or route.state != "offered" or pending is None or pending.id != offer.id:
                continue  # it moved on meanwhile
            await w.tx.move_route(offer.referral_id, "offered", w.now, w.now)
            due += 1
        return due

    async def _refusal(self, w: Work, user: str, reason: str, rep: str | None = None) -> Outcome:
        locale = await reader_locale(w, self._screens, user)
        return Outcome(self._screens.team("routing_refused", locale=locale, reason=reason, rep=rep))


async def routing_figures(store: Store, since: datetime | None) -> list[RepRouting]:
    """Each rep's offers since a moment (None: ever): assigned, accepted in time, handed on."""
    async with store.reading() as tx:
        return list(await tx.routing_counts(since or EVER))
