"""Speed to lead in view: how long a referral has waited, counted in business time the way its SLA timers count it,
and where it stands against the program's targets.

The clock starts when the team got the referral: its claim timers' start, which is its arrival, or a manager's
approval for one held for review. A new referral is timed against the claim target; a claimed one against the
contact target, from its claim; a contacted one by how long first contact took, against the first-contact target.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.figures import PendingLine
from bot.core.models import Referral, Status
from bot.program.business_hours import BusinessHours
from bot.program.rules import Hours, Program
from bot.program.texts import Texts
from bot.team.wording import business_duration, friend_or_someone
from storage.base import Store

PENDING_SHOWN = 20  # lines of `/referrals pending`; the rest is counted


@functools.lru_cache(maxsize=8)
def calendar(hours: Hours) -> BusinessHours:
    """One calendar per program's hours: it keeps its days and windows worked out, and every alert asks."""
    return hours.calendar()


def business_time(program: Program, start: datetime, end: datetime) -> timedelta:
    return calendar(program.business_hours).elapsed(start, end) if end > start else timedelta(0)


def whole_minutes(span: timedelta) -> int:
    """As the nudges say it: rounded to the minute."""
    return max(0, round(span.total_seconds() / 60))


@dataclass(frozen=True)
class Waiting:
    """Where one referral stands: `stage` claim (waits for a claim), contact (claimed, waits for first contact) or
    contacted (done: `waited` is what first contact took)."""

    stage: str
    waited: timedelta  # since the team got it; until first contact once contacted
    in_stage: timedelta  # since the stage began: the claim, for the contact stage
    target: int  # the stage's target, in minutes: its reminder goes when it passes
    escalated_at: int | None  # claim stage: when the managers are told

    @property
    def overdue(self) -> bool:
        return self.in_stage >= timedelta(minutes=self.target) if self.stage != "contacted" else self.missed

    @property
    def missed(self) -> bool:
        return self.waited > timedelta(minutes=self.target)

    @property
    def state(self) -> str:
        """on_time, nudged or escalated (the claim stage); on_time or late (contact); met or missed (contacted)."""
        if self.stage == "contacted":
            return "missed" if self.missed else "met"
        if self.escalated_at is not None and self.in_stage >= timedelta(minutes=self.escalated_at):
            return "escalated"
        if self.in_stage >= timedelta(minutes=self.target):
            return "nudged" if self.stage == "claim" else "late"
        return "on_time"


def waiting(referral: Referral, team_since: datetime | None, now: datetime, program: Program) -> Waiting | None:
    """Where the referral stands now; None when there is nothing to time (held, rejected, or closed uncontacted)."""
    stamps = (referral.claimed_at, referral.contacted_at)
    return measure(referral.status, team_since or referral.created_at, *stamps, now, program)


def measure(
    status: str,
    start: datetime,
    claimed_at: datetime | None,
    contacted_at: datetime | None,
    now: datetime,
    program: Program,
) -> Waiting | None:
    """`waiting` from a referral's status and moments; `start` is when the team got it."""
    sla = program.sla
    if contacted_at is not None:
        took = business_time(program, start, contacted_at)
        return Waiting("contacted", took, took, sla.first_contact_target, None)
    waited = business_time(program, start, now)
    if status == Status.NEW:
        return Waiting("claim", waited, waited, sla.claim_within_minutes, sla.escalate_after_minutes)
    if status == Status.CLAIMED and claimed_at is not None:
        in_stage = business_time(program, max(start, claimed_at), now)
        return Waiting("contact", waited, in_stage, sla.contact_within_minutes, None)
    return None


def waiting_line(screens: Texts, view: Waiting, locale: str | None = None) -> str:
    """The card's line: how long it has waited against the target (or how long first contact took)."""
    return screens.team(
        "alert_waiting",
        locale,
        stage=view.stage,
        waited=business_duration(screens, whole_minutes(view.waited), locale),
        in_stage=business_duration(screens, whole_minutes(view.in_stage), locale),
        target=business_duration(screens, view.target, locale),
        overdue=view.overdue,
    )


async def pending_text(store: Store, screens: Texts, now: datetime, locale: str | None = None) -> str:
    """`/referrals pending`: what waits for the team, the longest wait first, each with its SLA state."""
    lines = await store.pending_referrals(PENDING_SHOWN)
    total = await store.pending_count()
    since = await store.team_since([line.id for line in lines])
    rows = [_pending_row(screens, line, since.get(line.id), now, locale) for line in lines]
    rows.sort(key=lambda row: (-row["seconds"], row["created_at"]))
    return screens.team("pending", locale, rows=rows, more=max(0, total - len(rows)))


def _pending_row(
    screens: Texts, line: PendingLine, team_since: datetime | None, now: datetime, locale: str | None
) -> dict[str, Any]:
    program = screens.program
    created = datetime.fromisoformat(line.created_at)
    claimed = datetime.fromisoformat(line.claimed_at) if line.claimed_at else None
    view = measure(line.status, team_since or created, claimed, None, now, program)
    waited = view.waited if view is not None else business_time(program, created, now)
    return {
        "status": line.status,
        "assignee": line.assignee,
        "created_at": line.created_at,
        "friend": friend_or_someone(screens, locale, line.friend_first_name, line.friend_name),
        "referrer": line.referrer_name,
        "seconds": waited.total_seconds(),
        "age": business_duration(screens, whole_minutes(waited), locale),
        "state": view.state if view is not None else "on_time",
        "stage": business_duration(screens, whole_minutes(view.in_stage), locale) if view is not None else "",
        "target": business_duration(screens, view.target, locale) if view is not None else "",
    }
