"""The managers' dashboard in Slack's App Home: the figures it shows (bot/team/alerts.py queues its refreshes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.figures import AdvocateLine
from bot.program.rules import Program
from bot.program.texts import Texts
from bot.reports import stats
from bot.reports.goals import GoalProgress, goal_progress
from bot.team.wording import waited
from storage.base import Store

PENDING_SHOWN = 10
HELD_SHOWN = 5
ADVOCATES_SHOWN = 5


@dataclass(frozen=True)
class Dashboard:
    funnel: stats.Funnel  # this week: the last seven days
    pending: list[dict[str, Any]]  # oldest first, each with its friend, referrer, status, assignee and age
    pending_total: int
    advocates: list[AdvocateLine]
    now: datetime
    held: list[dict[str, Any]] = field(default_factory=list)  # the review queue's oldest, each with its age
    held_total: int = 0
    goals: list[GoalProgress] = field(default_factory=list)  # the program's goals, each in its month or quarter


def age(created_at: str, now: datetime, screens: Texts | None = None, locale: str | None = None) -> str:
    """How long a referral has waited, as a person says it: 5 min, 3 h 20 min, 2 d 4 h (in `locale`'s words when
    the screens are given, else in English)."""
    if screens is not None:
        return waited(screens, created_at, now, locale)
    minutes = max(0, int((now - datetime.fromisoformat(created_at)).total_seconds() // 60))
    days, hours, rest = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {rest} min" if hours else f"{rest} min"


async def load_dashboard(
    store: Store, now: datetime, program: Program | None = None, screens: Texts | None = None, locale: str | None = None
) -> Dashboard:
    """The figures, their waits and nameless friends worded in `locale` (the manager's own) when screens are given."""
    funnel = await stats.funnel(store, stats.Period("7d", now - timedelta(days=7)))
    waiting = await stats.pending(store, limit=PENDING_SHOWN)
    total = await store.pending_count()
    nameless = screens.team_label("slack_a_friend", locale) if screens is not None else "a friend"
    pending = [
        {
            **row,
            "friend": row["friend_first_name"] or row["friend_name"] or nameless,
            "referrer": row["referrer_name"],
            "age": age(row["created_at"], now, screens, locale),
        }
        for row in waiting
    ]
    advocates = await stats.leaderboard(store, ADVOCATES_SHOWN)
    queue = await store.review_queue(HELD_SHOWN)
    held = [{**vars(line), "friend": line.friend, "age": age(line.created_at, now, screens, locale)} for line in queue]
    held_total = await store.review_count() if len(queue) == HELD_SHOWN else len(queue)
    words = locale or (screens.team_locale if screens is not None else "en")  # the goals' figures too
    goals = await goal_progress(store, program, now, words) if program is not None else []
    return Dashboard(funnel, pending, total, advocates, now, held, held_total, goals)
