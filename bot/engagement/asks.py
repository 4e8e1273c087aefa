"""Asking customers to refer: the request itself, who may be asked now, and the answers to it.

Every ask is logged (table `asks`) with an id derived from the event that caused it, so a replayed
event never asks twice, and cooldowns and caps count from that log.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.buttons import AskLater, AskStop, callback_button
from bot.core.ids import new_id
from bot.core.models import ChatUser, Customer, Outgoing
from bot.core.unit_of_work import Units, Work
from bot.delivery.mail import ask_by_email, by_email, mail_possible
from bot.engagement.bands import nps_gate
from bot.program.rules import Program
from bot.program.sections import SEGMENTS, Asks
from storage.base import Transaction

log = logging.getLogger(__name__)

Exclusion = Literal["segment", "opted_out", "unreachable", "detractor", "passive", "cooldown", "cap", "quiet_hours"]
Verdict = Literal["eligible"] | Exclusion
EXCLUSIONS: tuple[Exclusion, ...] = (
    "segment",
    "opted_out",
    "unreachable",
    "detractor",
    "passive",
    "cooldown",
    "cap",
    "quiet_hours",
)
CAP_WINDOW = timedelta(days=90)


def eligibility(
    customer: Customer,
    asked: Sequence[datetime],
    rules: Asks,
    zone: ZoneInfo,
    now: datetime,
    nps: int | None = None,
) -> Verdict:
    """Whether a customer may be asked now, or the first reason they may not.

    `asked` holds the times of their asks (follow-ups aside) within the last 90 days at least; `nps` is their
    latest NPS score, if they ever answered.
    """
    if customer.segment not in rules.segments:
        return "segment"
    if customer.asks_opted_out:
        return "opted_out"
    if customer.unreachable_at is not None and customer.email is None:  # with an address, the ask goes by e-mail
        return "unreachable"
    if gate := nps_gate(nps, rules.ask_passives):
        return gate
    if any(now - at < timedelta(days=rules.cooldown_days) for at in asked):
        return "cooldown"
    if sum(1 for at in asked if now - at < CAP_WINDOW) >= rules.max_per_90_days:
        return "cap"
    if quiet_now(rules, zone, now):
        return "quiet_hours"
    return "eligible"


def quiet_now(rules: Asks, zone: ZoneInfo, now: datetime) -> bool:
    quiet = rules.quiet_hours
    return quiet is not None and quiet.covers(now.astimezone(zone).time().replace(tzinfo=None))


def program_zone(program: Program) -> ZoneInfo:
    """Quiet hours are read in the business's own time zone."""
    return ZoneInfo(program.business_hours.timezone)


async def check(tx: Transaction, program: Program, customer: Customer, now: datetime) -> Verdict:
    """`eligibility` with the customer's ask log and latest NPS score read from the store."""
    asked = await tx.ask_times(customer.telegram_id, now - CAP_WINDOW)
    nps = await tx.last_nps_score(customer.telegram_id)
    return eligibility(customer, asked, program.asks, program_zone(program), now, nps)


def describe(reason: Exclusion, rules: Asks) -> str:
    """How an operator reads an exclusion reason."""
    return {
        "segment": "not in a segment the program asks",
        "opted_out": "opted out of asks",
        "unreachable": "unreachable in Telegram (and no e-mail to send instead)",
        "detractor": "unhappy: scored us 0 to 6 (NPS detractor)",
        "passive": "lukewarm: scored us 7 or 8 (NPS passive), and the program asks no passives",
        "cooldown": f"asked within the last {rules.cooldown_days} days",
        "cap": f"already asked {rules.max_per_90_days} times in 90 days",
        "quiet_hours": "quiet hours now",
    }[reason]


def ask_message(units: Units, customer: Customer, template: str = "ask", moment: str | None = None) -> Outgoing:
    """The referral request (or its reminder): the program's pitch, share buttons, and a way to say no. `moment`
    is what a trigger asks after ("conversion", "purchase"), which the greeting mentions unless a variant has its
    own pitch."""
    screens, locale = units.screens, customer.language
    body = screens.to(customer, template, pitch=_pitch(units, customer), moment=moment).text
    # The same share buttons as the welcome screen: the chat picker, the share page and the copy link.
    share_rows = screens.welcome(customer).buttons[:2]
    answers = (
        callback_button(screens.label(locale, "ask_not_now"), AskLater()),
        callback_button(screens.label(locale, "ask_stop"), AskStop()),
    )
    return Outgoing(customer.telegram_id, body, (*share_rows, answers))


def _pitch(units: Units, customer: Customer) -> str | None:
    """The A/B variant's own ask text, when the customer's variant has one."""
    variant = next((v for v in units.program.variants if v.name == customer.variant), None)
    return variant.ask.get(customer.language) if variant is not None and variant.ask is not None else None


async def send_ask(w: Work, units: Units, customer: Customer, reason: str, moment: str | None = None) -> None:
    """Queue a referral request to a customer and log it; `reason` is e.g. "campaign:<id>", "trigger:<name>" or
    "promoter".

    Whoever calls, nobody is asked against their wish or too often: opted out, unreachable, within the
    cooldown or over the cap means no ask. Segments and quiet hours are for campaigns (see `check`): a
    promoter who just answered is awake and has shown they are willing.
    """
    anyone_any_time = units.program.asks.model_copy(update={"segments": SEGMENTS, "quiet_hours": None})
    asked = await w.tx.ask_times(customer.telegram_id, w.now - CAP_WINDOW)
    verdict = eligibility(customer, asked, anyone_any_time, program_zone(units.program), w.now)
    if verdict == "eligible" and by_email(customer) and not await mail_possible(w.tx, units, customer):
        verdict = "unreachable"
    if verdict != "eligible":
        log.info("ask to tg:%s (%s) skipped: %s", customer.telegram_id, reason, verdict)
        return
    ask_id = f"ask:{w.inbound_id}:{customer.telegram_id}"
    if not await w.tx.insert_ask(ask_id, customer.telegram_id, "ask", reason[:100], customer.variant, w.now):
        return
    if by_email(customer):  # not on Telegram yet: by e-mail, with a link that brings them to the bot
        await ask_by_email(w, units, customer, ask_id, _pitch(units, customer))
    else:
        message = ask_message(units, customer, moment=moment)
        await w.post("telegram", str(customer.telegram_id), message.to_payload(), key=ask_id)
    await w.tx.log_event("ask.sent", w.now, actor="bot", subject=str(customer.telegram_id), reason=reason[:100])


async def send_follow_up(w: Work, units: Units, customer: Customer, ask_id: str) -> bool:
    """The one reminder for an ask; False when it was sent already."""
    follow_up_id = f"follow_up:{ask_id}"
    inserted = await w.tx.insert_ask(
        follow_up_id, customer.telegram_id, "follow_up", "follow_up", customer.variant, w.now, follows=ask_id
    )
    await w.tx.close_ask(ask_id, w.now)
    if not inserted:
        return False
    if by_email(customer):
        await ask_by_email(w, units, customer, follow_up_id, _pitch(units, customer))
    else:
        message = ask_message(units, customer, "ask_follow_up")
        await w.post("telegram", str(customer.telegram_id), message.to_payload(), key=follow_up_id)
    await w.tx.log_event("ask.follow_up", w.now, actor="bot", subject=str(customer.telegram_id), ask=ask_id)
    return True


class AskAnswers:
    """The customer's answers to an ask: "Not now" is acknowledged, "Stop asking me" opts them out."""

    def __init__(self, units: Units) -> None:
        self._units = units

    async def later(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.tx.log_event("ask.later", w.now, actor=f"tg:{user.id}")
            await w.send(self._units.screens.to(customer, "ask_later"))
        return True


class UnknownSegment(ValueError):
    def __init__(self, segment: str) -> None:
        super().__init__(f"unknown segment {segment[:40]!r}; valid segments: {', '.join(SEGMENTS)}")


@dataclass(frozen=True)
class CampaignReport:
    """What a campaign did (or, dry, would do): how many were asked, and why the others were not."""

    segment: str
    dry_run: bool
    asked: int
    excluded: dict[Exclusion, int] = field(default_factory=dict)  # only reasons that occurred, in EXCLUSIONS order

    @property
    def total(self) -> int:
        return self.asked + sum(self.excluded.values())

    def reasons(self, rules: Asks) -> list[tuple[str, int]]:
        return [(describe(reason, rules), count) for reason, count in self.excluded.items()]

    def lines(self, rules: Asks) -> list[str]:
        """The report an operator reads in the terminal."""
        if self.dry_run:
            head = (
                f"Dry run: nothing was sent or recorded. {self.asked} of {self.total} in {self.segment} would be asked."
            )
        else:
            head = f"Asked {self.asked} of {self.total} in {self.segment}."
        if not self.excluded:
            return [head]
        return [head, f"Not asked: {self.total - self.asked}", *(f"  {why}: {n}" for why, n in self.reasons(rules))]


Progress = Callable[[int, int], None]  # (done, total)


class AskCampaigns:
    """Ask a segment to refer: only those eligible now, each through the outbox in its own unit of work."""

    def __init__(self, units: Units) -> None:
        self._units = units

    @property
    def rules(self) -> Asks:
        return self._units.program.asks

    async def run(
        self, segment: str, dry_run: bool = False, actor: str = "cli", progress: Progress | None = None
    ) -> CampaignReport:
        if segment not in SEGMENTS:
            raise UnknownSegment(segment)
        async with self._units.store.reading() as tx:
            people = [c.telegram_id for c in await tx.customers_in_segments([segment])]
        campaign, verdicts = new_id(), Counter[Verdict]()
        for done, customer_id in enumerate(people, start=1):
            verdicts[await (self._judge(customer_id) if dry_run else self._ask(campaign, customer_id))] += 1
            if progress is not None:
                progress(done, len(people))
        excluded = {reason: verdicts[reason] for reason in EXCLUSIONS if verdicts[reason]}
        report = CampaignReport(segment, dry_run, verdicts["eligible"], excluded)
        if not dry_run:
            await self._record(campaign, report, actor)
        return report

    async def _judge(self, customer_id: int) -> Verdict:
        async with self._units.store.reading() as tx:
            customer = await tx.customer(customer_id)
            if customer is None or (by_email(customer) and not await mail_possible(tx, self._units, customer)):
                return "unreachable"  # an imported record bound to a Telegram account meanwhile; no way to write
            return await check(tx, self._units.program, customer, self._units.clock.now())

    async def _ask(self, campaign: str, customer_id: int) -> Verdict:
        async with self._units.once(f"campaign:{campaign}:{customer_id}", bulk=True) as w:
            if w is None:
                return "eligible"  # a replay: asked the first time
            # Judged again inside the transaction: an ask from elsewhere may have just landed.
            customer = await w.tx.customer(customer_id)
            if customer is None or (by_email(customer) and not await mail_possible(w.tx, self._units, customer)):
                return "unreachable"
            verdict = await check(w.tx, self._units.program, customer, w.now)
            if verdict == "eligible":
                await send_ask(w, self._units, customer, f"campaign:{campaign}")
        return verdict

    async def _record(self, campaign: str, report: CampaignReport, actor: str) -> None:
        async with self._units.once(f"campaign:{campaign}") as w:
            if w is None:
                return
            await w.tx.log_event(
                "ask.campaign",
                w.now,
                actor=actor,
                subject=campaign,
                segment=report.segment,
                asked=report.asked,
                excluded=dict(report.excluded),
            )
