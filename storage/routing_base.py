"""Routing's part of the Transaction interface (storage/routing_sql.py, migration 0024)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.routes import Offer, RepRouting, Route


class RoutingTransaction(Protocol):
    async def start_route(self, referral_id: str, pool: str, at: datetime) -> bool:
        """A referral waits for a rep from now; False when it is routed already."""

    async def route(self, referral_id: str) -> Route | None:
        """The referral's routing, locked for the rest of the transaction where rows are locked."""

    async def due_routes(self, now: datetime, limit: int) -> Sequence[Route]:
        """Routes waiting for a rep, or whose offer ran out, by `now`: soonest first."""

    async def move_route(self, referral_id: str, state: str, due_at: datetime | None, at: datetime) -> None:
        """The route's next state (and when it is next due), one step on."""

    async def route_cursor(self, pool: str, at: datetime) -> tuple[str | None, int]:
        """The pool's rotation (who had the latest offer, and how many it made), locked until the commit."""

    async def advance_cursor(self, pool: str, rep: str, at: datetime) -> int:
        """`rep` has the pool's next turn; returns that turn's number."""

    async def add_offer(self, offer: Offer) -> None: ...
    async def offer(self, offer_id: str) -> Offer | None: ...
    async def offers_of(self, referral_id: str) -> Sequence[Offer]:
        """Every offer made of the referral, first first."""

    async def pending_offers_to(self, rep: str) -> Sequence[Offer]:
        """The offers waiting for `rep` to accept, first first (not locked: lock each referral, then its route)."""

    async def settle_offer(
        self, offer_id: str, status: str, at: datetime, by: str | None = None, next_rep: str | None = None
    ) -> None:
        """What became of a pending offer: accepted, handed_on, reassigned or withdrawn."""

    async def offer_message(self, offer_id: str) -> str | None:
        """The ts of the offer's DM card, once it was sent; None before."""

    async def routing_counts(self, since: datetime) -> Sequence[RepRouting]:
        """Each rep's offers made since a moment: assigned, accepted in time, handed on."""
