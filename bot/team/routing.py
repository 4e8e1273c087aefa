"""Routing the lead-router way: each referral offered to one rep, who accepts it or lets it pass to the next.

A referral reaching the team is given a route (`start_routing`, in the transaction that posts its alert). The
router (bot/team/router.py) then offers it: the offer is recorded, the rep is sent a DM card with an Accept button,
the alert's thread names them and an accept deadline is set, all in one unit of work. Accepting is claiming
(bot/team/routing_actions.py); an offer not accepted in time is handed on to the next rep. Every move locks the
referral, then its route, then the pool's rotation cursor, always in that order, so two instances never deadlock,
never offer a referral twice and never skip a rep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.ids import new_id
from bot.core.models import Referral, Status
from bot.core.routes import OFFER_DM_KEY, Offer, Route
from bot.core.unit_of_work import Units, Work
from bot.team.alerts import Alerts
from bot.team.languages import reader_locale

MOVABLE = frozenset({"waiting", "offered"})  # the states the router moves on from
SHOWING = frozenset({"pending", "accepted"})  # offers whose DM card shows the referral (handlers/slack/offers.py)


async def start_routing(w: Work, units: Units, referral_id: str) -> bool:
    """The referral waits for a rep from now; False when the program leaves it to the channel's Claim button."""
    routing = units.program.routing
    if not routing.routed:
        return False
    referral = await w.tx.referral(referral_id)
    referrer = await w.tx.customer(referral.referrer_id) if referral is not None else None
    pool = routing.pool_for(referrer.segment if referrer is not None else "")
    await w.tx.start_route(referral_id, pool, w.now)
    return True


def pending_of(offers: Sequence[Offer]) -> Offer | None:
    return next((offer for offer in offers if offer.status == "pending"), None)


@dataclass(frozen=True)
class Passed:
    """Why nobody took a referral: who said they were away, whom Slack shows away, who let it pass."""

    away: tuple[str, ...] = ()
    presence_away: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()


class Offers:
    """Offers made, handed on, settled and shown, inside the caller's unit of work."""

    def __init__(self, units: Units, alerts: Alerts) -> None:
        self._units = units
        self._alerts = alerts
        self._screens = units.screens

    @property
    def minutes(self) -> int:
        return self._units.program.routing.accept_within_minutes

    def deadline(self, now: datetime) -> datetime:
        return self._units.hours.add(now, timedelta(minutes=self.minutes))  # business time, like the SLA timers

    async def offer(
        self, w: Work, referral: Referral, pool: str, rep: str, turn: int | None, previous: Offer | None = None
    ) -> Offer:
        """Offer the referral to `rep`: the offer, the DM card, the deadline and the alert showing whom it waits on."""
        due = self.deadline(w.now)
        locale = await reader_locale(w, self._screens, rep)
        offer = Offer(new_id(), referral.id, rep, pool, w.now, due, "pending", turn, locale=locale)
        await w.tx.add_offer(offer)
        await w.tx.move_route(referral.id, "offered", due, w.now)
        # Ids only, like the alert: the card is drawn from the referral when sent, so it names nobody here and
        # forgetting someone leaves it queued (it is then drawn without them); one already out is redrawn.
        payload = {"kind": "offer", "offer_id": offer.id, "user": rep, "referral_id": referral.id}
        await w.post("slack", f"dm:{rep}", payload, key=OFFER_DM_KEY.format(offer.id))
        await self._alerts.refresh(w, referral.id)
        await w.tx.log_event("routing.offered", w.now, subject=referral.id, rep=rep, turn=turn, pool=pool)
        if previous is None:
            await self.thread(w, referral.id, "offered", rep=rep)
        return offer

    async def settle(
        self, w: Work, offer: Offer, status: str, by: str | None = None, next_rep: str | None = None
    ) -> None:
        """A pending offer ends (accepted, handed_on, reassigned or withdrawn), and its DM card shows how."""
        await w.tx.settle_offer(offer.id, status, w.now, by, next_rep)
        await redraw(w, offer)
        await w.tx.log_event(f"routing.{status}", w.now, subject=offer.referral_id, rep=offer.rep, by=by)

    async def unroute(self, w: Work, referral: Referral, passed: Passed) -> None:
        """Nobody can take it: back to the channel's Claim button, with a note why and a word to the managers."""
        await w.tx.move_route(referral.id, "unrouted", None, w.now)
        await self._alerts.refresh(w, referral.id)  # the card shows Claim again
        await self.thread(w, referral.id, "unrouted", **_reasons(passed))
        sla = self._units.program.sla  # the channel's claim nudge, from now
        due = self._units.hours.add(w.now, timedelta(minutes=sla.claim_within_minutes))
        await w.tx.add_timer(referral.id, "claim_nudge", due, w.now)
        for manager in sorted(self._alerts.team.managers):
            text = self._screens.team(
                "routing_unrouted",
                locale=await reader_locale(w, self._screens, manager),
                friend=await friend_name(w, referral),
                channel=self._alerts.team.alert_channel,
                **_reasons(passed),
            )
            await self._alerts.direct(w, manager, text, referral.id)
        await w.tx.log_event("routing.unrouted", w.now, subject=referral.id, **_reasons(passed))

    async def thread(self, w: Work, referral_id: str, event: str, **context: Any) -> None:
        """A line in the alert's thread, in the team's language: the channel sees every move."""
        values: dict[str, Any] = {
            "rep": None,
            "previous": None,
            "actor": None,
            "away": (),
            "presence_away": (),
            "declined": (),
        }
        text = self._screens.team("routing_thread", event=event, minutes=self.minutes, **{**values, **context})
        await self._alerts.thread(w, referral_id, text)

    async def close(self, w: Work, referral_id: str, actor: str, accepted: bool) -> None:
        """The referral moved on by a status change: its pending offer is accepted (by its rep) or withdrawn."""
        route = await w.tx.route(referral_id)
        if route is None or route.state not in MOVABLE:
            return
        pending = pending_of(await w.tx.offers_of(referral_id))
        if pending is not None:
            mine = accepted and pending.rep == actor
            await self.settle(w, pending, "accepted" if mine else "withdrawn", by=actor)
        await w.tx.move_route(referral_id, "accepted" if accepted else "closed", None, w.now)


async def redraw(w: Work, offer: Offer) -> None:
    """The offer's DM card drawn again, from the offer and the referral as they are when it is sent."""
    payload = {"kind": "offer_update", "offer_id": offer.id, "user": offer.rep, "referral_id": offer.referral_id}
    await w.post("slack", f"dm:{offer.rep}", payload)


async def redraw_cards(w: Work, referral_id: str) -> None:
    """Someone the referral names was forgotten: the DM cards that show the referral (offers still pending, or
    accepted) are drawn again without them, as its alert card is. The others show only how the offer ended."""
    for offer in await w.tx.offers_of(referral_id):
        if offer.status in SHOWING:
            await redraw(w, offer)


def _reasons(passed: Passed) -> dict[str, Any]:
    return {"away": passed.away, "presence_away": passed.presence_away, "declined": passed.declined}


async def friend_name(w: Work, referral: Referral) -> str:
    if referral.friend_telegram_id is not None:
        friend = await w.tx.customer(referral.friend_telegram_id)
        if friend is not None and friend.display_name:
            return friend.display_name
    return referral.friend_name or ""


async def route_open(route: Route | None, referral: Referral | None, step: int, now: datetime) -> bool:
    """Whether a route read at `step` may still be moved now (another instance has not moved it meanwhile)."""
    return (
        route is not None
        and referral is not None
        and route.step == step
        and route.state in MOVABLE
        and (route.due_at is None or route.due_at <= now)
    )


def is_new(referral: Referral | None) -> bool:
    return referral is not None and referral.status == Status.NEW
