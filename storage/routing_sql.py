"""Routing's rows (migration 0024): routes, offers and the rotation cursors. Mixed into the SQL transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.routes import OFFER_DM_KEY, Offer, RepRouting, Route
from storage.rows import from_row, to_db, to_row
from storage.sql_base import SqlBase


class RoutingSql(SqlBase):
    async def start_route(self, referral_id: str, pool: str, at: datetime) -> bool:
        row = {"referral_id": referral_id, "pool": pool, "state": "waiting", "step": 0}
        values = {**row, "due_at": to_db(at), "updated_at": to_db(at)}
        return await self._insert("routes", values, "ON CONFLICT (referral_id) DO NOTHING") == 1

    async def route(self, referral_id: str) -> Route | None:
        row = await self._one(f"SELECT * FROM routes WHERE referral_id = ?{self._lock}", referral_id)
        return from_row(Route, row) if row else None

    async def due_routes(self, now: datetime, limit: int) -> Sequence[Route]:
        rows = await self._db.fetch_all(
            "SELECT * FROM routes WHERE state IN ('waiting', 'offered') AND due_at <= ? ORDER BY due_at LIMIT ?",
            (to_db(now), limit),
        )
        return [from_row(Route, row) for row in rows]

    async def move_route(self, referral_id: str, state: str, due_at: datetime | None, at: datetime) -> None:
        await self._db.execute(
            "UPDATE routes SET state = ?, due_at = ?, step = step + 1, updated_at = ? WHERE referral_id = ?",
            (state, to_db(due_at), to_db(at), referral_id),
        )

    async def route_cursor(self, pool: str, at: datetime) -> tuple[str | None, int]:
        # Made on first use; two instances making it at once both land on the one row, then queue for its lock.
        await self._insert(
            "route_cursors", {"pool": pool, "turns": 0, "updated_at": to_db(at)}, "ON CONFLICT DO NOTHING"
        )
        row = await self._one(f"SELECT last_rep, turns FROM route_cursors WHERE pool = ?{self._lock}", pool)
        assert row is not None  # inserted just above
        return (str(row["last_rep"]) if row["last_rep"] else None), int(row["turns"])

    async def advance_cursor(self, pool: str, rep: str, at: datetime) -> int:
        _, turns = await self.route_cursor(pool, at)
        await self._db.execute(
            "UPDATE route_cursors SET last_rep = ?, turns = ?, updated_at = ? WHERE pool = ?",
            (rep, turns + 1, to_db(at), pool),
        )
        return turns

    async def add_offer(self, offer: Offer) -> None:
        await self._insert("route_offers", to_row(offer))

    async def offer(self, offer_id: str) -> Offer | None:
        row = await self._one("SELECT * FROM route_offers WHERE id = ?", offer_id)
        return from_row(Offer, row) if row else None

    async def offers_of(self, referral_id: str) -> Sequence[Offer]:
        rows = await self._db.fetch_all(
            "SELECT * FROM route_offers WHERE referral_id = ? ORDER BY offered_at, turn", (referral_id,)
        )
        return [from_row(Offer, row) for row in rows]

    async def pending_offers_to(self, rep: str) -> Sequence[Offer]:
        rows = await self._db.fetch_all(
            "SELECT * FROM route_offers WHERE rep = ? AND status = 'pending' ORDER BY offered_at", (rep,)
        )
        return [from_row(Offer, row) for row in rows]

    async def settle_offer(
        self, offer_id: str, status: str, at: datetime, by: str | None = None, next_rep: str | None = None
    ) -> None:
        await self._db.execute(
            "UPDATE route_offers SET status = ?, settled_at = ?, settled_by = ?, next_rep = ?"
            " WHERE id = ? AND status = 'pending'",
            (status, to_db(at), by, next_rep, offer_id),
        )

    async def offer_message(self, offer_id: str) -> str | None:
        row = await self._one(
            "SELECT platform_message_id FROM outbox WHERE dedupe_key = ? AND status = 'sent'",
            OFFER_DM_KEY.format(offer_id),
        )
        return str(row["platform_message_id"]) if row and row["platform_message_id"] else None

    async def routing_counts(self, since: datetime) -> Sequence[RepRouting]:
        rows = await self._db.fetch_all(
            "SELECT rep, COUNT(*) AS assigned,"
            " SUM(CASE WHEN status = 'accepted' AND settled_at <= due_at THEN 1 ELSE 0 END) AS in_time,"
            " SUM(CASE WHEN status = 'handed_on' THEN 1 ELSE 0 END) AS handed_on"
            " FROM route_offers WHERE offered_at >= ? GROUP BY rep ORDER BY rep",
            (to_db(since),),
        )
        return [
            RepRouting(str(row["rep"]), int(row["assigned"]), int(row["in_time"] or 0), int(row["handed_on"] or 0))
            for row in rows
        ]
