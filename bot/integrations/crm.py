"""What a business's CRM may do: mark a referral converted (through the same rules as a rep's click),
list referrals by status and period, read one referral's trail, and report a customer's own purchase."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.core.ids import new_id
from bot.core.models import Customer, DueAsk, Referral, Status
from bot.core.unit_of_work import Units
from bot.engagement.ask_triggers import record_purchase
from bot.team.workflow import TeamService


class KeyReused(Exception):
    """An Idempotency-Key sent again with other parameters (another referral, another body) than its first use:
    answering with the first request's result would tell the CRM its new request succeeded."""


@dataclass(frozen=True)
class Conversion:
    """The referral after the request (None for an unknown id), and why it was not converted, if it was not."""

    referral: Referral | None
    refused: str | None = None


@dataclass(frozen=True)
class ReferralQuery:
    status: Status | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class Page:
    referrals: list[Referral]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True)
class Trail:
    referral: Referral
    events: list[dict[str, Any]] = field(default_factory=list)
    rewards: list[dict[str, Any]] = field(default_factory=list)


class CrmService:
    def __init__(self, units: Units, team: TeamService | None) -> None:
        self._units = units
        self._team = team  # None without a Slack team: nobody claims referrals, so none can be converted

    async def convert(
        self, request_key: str | None, referral_id: str, deal_value: Decimal, actor: str, fingerprint: str = ""
    ) -> Conversion:
        """Converted with a deal value, once per request key: a retried request changes nothing again. A key
        reused with another `fingerprint` (what the request carried) raises KeyReused and changes nothing."""
        before = await self._referral(referral_id)
        if before is None:
            return Conversion(None)
        if self._team is None:
            return Conversion(before, "no sales team is set up (SLACK_BOT_TOKEN), so referrals are never claimed")
        inbound_id = f"crm:{request_key}" if request_key else f"crm:{new_id()}"
        if request_key:
            await self._claim_key(inbound_id, fingerprint)
        outcome = await self._team.act(inbound_id, referral_id, "converted", f"crm:{actor}", deal_value=deal_value)
        after = await self._referral(referral_id)
        if outcome.refused is not None:
            return Conversion(after, outcome.refused)
        if after is None or after.status != Status.CONVERTED:  # a replayed request that was refused the first time
            return Conversion(after, f"This referral is {after.status if after else 'gone'}, not converted.")
        return Conversion(after)

    async def purchase(
        self, request_key: str | None, telegram_id: int, value: Decimal | None, fingerprint: str = ""
    ) -> list[DueAsk] | None:
        """A purchase of the customer's, once per request key: the asks it schedules ([[asks.triggers]] with
        after = "purchase"), or None for a customer the bot does not know. A reused key raises KeyReused."""
        async with self._units.store.reading() as tx:
            if await tx.customer(telegram_id) is None:
                return None
        inbound_id = f"crm:{request_key}" if request_key else f"crm:{new_id()}"
        if request_key:
            await self._claim_key(inbound_id, fingerprint)
        return await record_purchase(self._units, inbound_id, telegram_id, value)

    async def _claim_key(self, inbound_id: str, fingerprint: str) -> None:
        # Recorded in its own commit before the request acts: a retry after a crash in between matches and acts.
        async with self._units.store.transaction() as tx:
            first = await tx.claim_request_key(inbound_id, fingerprint, self._units.clock.now())
        if first != fingerprint:
            raise KeyReused(inbound_id.removeprefix("crm:"))

    async def page(self, query: ReferralQuery) -> Page:
        """One page of referrals, oldest first; pass `next_cursor` back for the next one."""
        after = decode_cursor(query.cursor) if query.cursor else None
        status = query.status.value if query.status else None
        found = await self._units.store.referrals_page(status, query.since, query.until, after, query.limit + 1)
        shown = found[: query.limit]
        more = len(found) > query.limit
        return Page(shown, encode_cursor(shown[-1]) if more else None)

    async def trail(self, referral_id: str) -> Trail | None:
        referral = await self._referral(referral_id)
        if referral is None:
            return None
        store = self._units.store
        return Trail(referral, await store.referral_trail(referral_id), await store.reward_trail(referral_id))

    async def referrers(self, referrals: Sequence[Referral]) -> dict[int, Customer]:
        """The referrers of these referrals who are still stored, by id: what the API shows of them besides their
        id (the e-mail address of an advocate imported by e-mail)."""
        found: dict[int, Customer] = {}
        async with self._units.store.reading() as tx:
            for referrer_id in dict.fromkeys(referral.referrer_id for referral in referrals):
                customer = await tx.customer(referrer_id)
                if customer is not None:
                    found[referrer_id] = customer
        return found

    async def _referral(self, referral_id: str) -> Referral | None:
        async with self._units.store.reading() as tx:
            return await tx.referral(referral_id)


def encode_cursor(last: Referral) -> str:
    raw = f"{last.created_at.isoformat()}|{last.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError for a cursor this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, referral_id = raw.partition("|")
        after = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor from a previous page") from None
    if after.tzinfo is None:  # every cursor handed out carries its offset; a naive one was made up
        raise ValueError("not a cursor from a previous page")
    return after, referral_id
