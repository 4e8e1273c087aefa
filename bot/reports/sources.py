"""Where referrals come from: arrivals, conversions, their rate and their revenue per share channel (how the link
travelled: plain link, inline card, share page, copied link, QR code, direct referral, a kit item...) and per prompt
(the ask that prompted the referrer within the attribution window: each ask campaign, each trigger, the NPS promoter's
request, or none). Each referral counts once in each breakdown.

Both are read from the source tallies (storage/source_sql.py), whose channels and prompts are whatever the data
holds: a new share channel shows up as soon as a referral arrives through it, before anyone names it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.core.figures import SourceCounts
from bot.reports.stats import Period
from storage.base import Store

CENT = Decimal("0.01")
DIRECT = "direct"  # a referral the customer typed in: an invitation by itself


@dataclass(frozen=True)
class SourceLine:
    """One channel or prompt. `kind` says how to read `key`: a channel's name, or a prompt's campaign, trigger,
    promoter, none (nobody asked), or other (an ask reason this version does not know)."""

    kind: str
    key: str
    asked: int
    arrived: int
    converted: int
    revenue: Decimal
    reward_cost: Decimal
    segment: str = ""  # a campaign's: whom it asked
    started: str = ""  # a campaign's: the day it ran (YYYY-MM-DD)

    @property
    def conversion_rate(self) -> float | None:
        """None while nothing arrived: the templates say "n/a", not 0%."""
        return self.converted / self.arrived if self.arrived else None


@dataclass(frozen=True)
class Sources:
    period: str
    channels: list[SourceLine]
    prompts: list[SourceLine]
    total: SourceCounts

    @property
    def asked(self) -> int:
        return self.total.asked

    @property
    def direct(self) -> int:
        return sum(line.arrived for line in self.channels if line.key == DIRECT)


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _line(kind: str, key: str, counts: SourceCounts, segment: str = "", started: str = "") -> SourceLine:
    revenue, cost = _money(counts.revenue_cents), _money(counts.reward_cents)
    return SourceLine(kind, key, counts.asked, counts.arrived, counts.converted, revenue, cost, segment, started)


def _summed(rows: Iterable[SourceCounts], key: str) -> dict[str, SourceCounts]:
    found: dict[str, SourceCounts] = {}
    for row in rows:
        name = getattr(row, key)
        found[name] = found[name] + row if name in found else row
    return found


def _ranked(lines: Iterable[SourceLine]) -> list[SourceLine]:
    """Biggest first; a source whose referrals all moved elsewhere (last-touch credit) counts nothing: left out."""
    counted = [line for line in lines if line.arrived or line.asked or line.reward_cost]
    return sorted(counted, key=lambda line: (-line.arrived, -line.converted, -line.asked, line.kind, line.key))


def prompt_kind(reason: str) -> str:
    if not reason:
        return "none"
    if reason == "promoter":
        return "promoter"
    prefix, _, rest = reason.partition(":")
    return prefix if prefix in ("campaign", "trigger") and rest else "other"


async def sources(store: Store, period: Period) -> Sources:
    """The period's breakdowns, each biggest first."""
    rows = await store.source_counts(period.since)
    referrals = [row for row in rows if row.channel]  # the asks' own rows have no channel
    channels = [_line("channel", name, counts) for name, counts in _summed(referrals, "channel").items()]
    by_prompt = _summed(rows, "prompted_by")
    ids = [reason.partition(":")[2] for reason in by_prompt if prompt_kind(reason) == "campaign"]
    campaigns = {line.id: line for line in await store.campaigns(ids)}
    prompts = []
    for reason, counts in by_prompt.items():
        kind, detail = prompt_kind(reason), reason.partition(":")[2]
        campaign = campaigns.get(detail) if kind == "campaign" else None
        if campaign is not None:
            prompts.append(_line(kind, detail, counts, campaign.segment, campaign.created_at[:10]))
        else:
            prompts.append(_line(kind, detail if kind in ("campaign", "trigger") else reason, counts))
    total = sum(rows, SourceCounts("", ""))
    return Sources(period.label, _ranked(channels), _ranked(prompts), total)


@dataclass(frozen=True)
class Reach:
    """The K-factor: invitations sent per customer × the share of arrivals that convert. Invitations are the shares
    the bot sees (inline cards, QR codes, kit items) and direct referrals; customers are everyone who started the
    bot. Above 1, each customer brings more than one new customer."""

    invitations: int
    customers: int
    arrived: int
    converted: int

    @property
    def per_customer(self) -> float | None:
        return self.invitations / self.customers if self.customers else None

    @property
    def conversion_rate(self) -> float | None:
        return self.converted / self.arrived if self.arrived else None

    @property
    def k_factor(self) -> float | None:
        per_customer, rate = self.per_customer, self.conversion_rate
        return per_customer * rate if per_customer is not None and rate is not None else None


def reach(found: Sources, shares: int, customers: int) -> Reach:
    return Reach(shares + found.direct, customers, found.total.arrived, found.total.converted)


def top(lines: Sequence[SourceLine], count: int = 3) -> list[SourceLine]:
    """The lines that brought anyone, biggest first: the main stats' one-line summary."""
    return [line for line in lines if line.arrived][:count]
