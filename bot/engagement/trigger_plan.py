"""The ask triggers' dry run (`referral-bot triggers --dry-run`): who would be asked, when, and why the others would
not be. It reads the waiting asks and each schedule's next occurrence, judges each with the campaign's rules at the
moment it would go out (after quiet hours, when due in them), and writes nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.models import Customer
from bot.core.unit_of_work import Units
from bot.engagement.ask_triggers import triggers_after
from bot.engagement.asks import CAP_WINDOW, EXCLUSIONS, Verdict, describe, eligibility, program_zone, quiet_now
from bot.program.sections import Asks
from bot.program.triggers import AskTrigger
from storage.base import Transaction

LIMIT = 10_000  # waiting asks read; more are said to be left out of the plan


@dataclass(frozen=True)
class Planned:
    when: datetime  # when it would go out
    waits: bool  # due in quiet hours, so it waits for their end
    customer: Customer
    trigger: str
    verdict: Verdict


@dataclass(frozen=True)
class TriggerPlan:
    triggers: tuple[AskTrigger, ...]
    zone: ZoneInfo
    planned: list[Planned]
    truncated: bool = False

    def lines(self, rules: Asks) -> list[str]:
        """The report an operator reads in the terminal."""
        if not self.triggers:
            return ["No ask triggers: add [[asks.triggers]] to the program file (see docs/program.md)."]
        head = [f"Dry run: nothing was sent or recorded. Times are in {self.zone.key}.", "Triggers:"]
        head += [f"  {trigger.name}: {trigger.describe()}" for trigger in self.triggers]
        if not self.planned:
            return [*head, "Nobody is waiting for an ask from a trigger."]
        body = [self._line(planned, rules) for planned in self.planned]
        if self.truncated:
            body.append(f"(only the first {LIMIT} waiting asks are shown)")
        asked = sum(1 for planned in self.planned if planned.verdict == "eligible")
        reasons = Counter(planned.verdict for planned in self.planned)
        tail = [f"Would ask {asked} of {len(self.planned)}."]
        if asked < len(self.planned):
            tail.append(f"Left out: {len(self.planned) - asked}")
            tail += [f"  {describe(reason, rules)}: {reasons[reason]}" for reason in EXCLUSIONS if reasons[reason]]
        return [*head, *body, *tail]

    def _line(self, planned: Planned, rules: Asks) -> str:
        when = f"{planned.when.astimezone(self.zone):%Y-%m-%d %H:%M}{' (after quiet hours)' if planned.waits else ''}"
        who = f"{planned.customer.display_name or 'someone forgotten'} (tg:{planned.customer.telegram_id})"
        verdict = "would be asked" if planned.verdict == "eligible" else f"left out: {describe(planned.verdict, rules)}"
        return f"{when}  {planned.trigger}  {who}: {verdict}"


async def plan_triggers(units: Units) -> TriggerPlan:
    program, now = units.program, units.clock.now()
    zone, rules = program_zone(program), program.asks
    waiting = await units.store.waiting_asks(None, LIMIT + 1)
    known = {trigger.name for trigger in rules.triggers}  # the sweep sends none of a trigger since removed
    upcoming = [(max(ask.due_at, now), ask.customer_id, ask.trigger) for ask in waiting[:LIMIT] if ask.trigger in known]
    async with units.store.reading() as tx:
        for trigger in triggers_after(units, "schedule"):
            moment = trigger.next_occurrence(now, zone)
            upcoming += [(moment, c.telegram_id, trigger.name) for c in await tx.customers_in_segments(rules.segments)]
        planned = await _judge(tx, rules, zone, now, sorted(upcoming, key=lambda item: (item[0], item[1])))
    return TriggerPlan(rules.triggers, zone, planned, len(waiting) > LIMIT)


async def _judge(
    tx: Transaction, rules: Asks, zone: ZoneInfo, now: datetime, upcoming: list[tuple[datetime, int, str]]
) -> list[Planned]:
    """Each ask in the order it would go out: one that would be asked counts towards the cooldown and cap of the
    same customer's later ones."""
    asked: dict[int, list[datetime]] = {}
    scores: dict[int, int | None] = {}
    planned = []
    for due, customer_id, trigger in upcoming:
        customer = await tx.customer(customer_id)
        if customer is None:
            continue  # gone meanwhile: the sweep settles it without asking
        if customer_id not in asked:
            asked[customer_id] = list(await tx.ask_times(customer_id, now - CAP_WINDOW))
            scores[customer_id] = await tx.last_nps_score(customer_id)
        when = after_quiet_hours(rules, zone, due)
        verdict = eligibility(customer, asked[customer_id], rules, zone, when, scores[customer_id])
        if verdict == "eligible":
            asked[customer_id].append(when)
        planned.append(Planned(when, when != due, customer, trigger, verdict))
    return planned


def after_quiet_hours(rules: Asks, zone: ZoneInfo, moment: datetime) -> datetime:
    """`moment`, or the end of the quiet hours it falls in."""
    quiet = rules.quiet_hours
    if quiet is None or not quiet_now(rules, zone, moment):
        return moment
    local = moment.astimezone(zone)
    end = datetime.combine(local.date(), quiet.end, zone)
    return end if end > local else end + timedelta(days=1)
