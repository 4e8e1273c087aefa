"""The managers' dashboard in Slack's App Home: the figures it shows (bot/team/alerts.py queues its refreshes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.figures import AdvocateLine
from bot.reports import stats
from storage.base import Store

PENDING_SHOWN = 10
ADVOCATES_SHOWN = 5


@dataclass(frozen=True)
class Dashboard:
    funnel: stats.Funnel  # this week: the last seven days
    pending: list[dict[str, Any]]  # oldest first, each with its friend, referrer, status, assignee and age
    pending_total: int
    advocates: list[AdvocateLine]
    now: datetime


def age(created_at: str, now: datetime) -> str:
    """How long a referral has waited, as a person says it: 5 min, 3 h 20 min, 2 d 4 h."""
    minutes = max(0, int((now - datetime.fromisoformat(created_at)).total_seconds() // 60))
    days, hours, rest = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {rest} min" if hours else f"{rest} min"


async def load_dashboard(store: Store, now: datetime) -> Dashboard:
    funnel = await stats.funnel(store, stats.Period("7d", now - timedelta(days=7)))
    waiting = await stats.pending(store, limit=PENDING_SHOWN)
    total = await store.pending_count()
    pending = [
        {
            **row,
            "friend": row["friend_first_name"] or row["friend_name"] or "a friend",
            "referrer": row["referrer_name"],
            "age": age(row["created_at"], now),
        }
        for row in waiting
    ]
    advocates = await stats.leaderboard(store, ADVOCATES_SHOWN)
    return Dashboard(funnel, pending, total, advocates, now)
