"""The managers' dashboard in Slack's App Home: the figures, and the debounced refresh that keeps it live.

A referral arriving or moving on queues a refresh for each manager, but at most one per manager per
window: the outbox row's dedupe key names the window and the row is due at its end, so a burst of
changes costs one views.publish per manager, rendered at send time from the figures as they are then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.figures import AdvocateLine
from bot.core.unit_of_work import Work
from bot.reports import stats
from bot.team.alerts import Alerts, Team
from storage.base import Store

HOME_PLATFORM = "slack_home"  # the outbox lane for Home tab publishes
REFRESH_WINDOW_SECONDS = 30
PENDING_SHOWN = 10
ADVOCATES_SHOWN = 5


def home_chat(user_id: str, opened: bool = False) -> str:
    """Outbox chat ids for a person's Home tab. A tab just opened gets its own, so it is not held behind
    a refresh that waits for the end of its window (a chat's rows go out in order)."""
    return f"home:{user_id}:opened" if opened else f"home:{user_id}"


def home_payload(user_id: str) -> dict[str, Any]:
    return {"kind": "home", "user": user_id}


HOME_OPENED = "slack.home_opened"
EVER = datetime(2000, 1, 1, tzinfo=UTC)


def home_actor(user_id: str) -> str:
    return f"slack:{user_id}"


async def note_home_opened(w: Work, user_id: str) -> None:
    """Remember (once) that this person looks at their Home tab: only they get refreshes."""
    if not await w.tx.count_events(HOME_OPENED, home_actor(user_id), EVER):
        await w.tx.log_event(HOME_OPENED, w.now, actor=home_actor(user_id))


async def queue_home_refresh(w: Work, team: Team) -> None:
    """One refresh per manager and window, for managers who have opened the Home tab at least once."""
    window = int(w.now.timestamp()) // REFRESH_WINDOW_SECONDS
    due = datetime.fromtimestamp((window + 1) * REFRESH_WINDOW_SECONDS, UTC)
    for manager in sorted(team.managers):
        if not await w.tx.count_events(HOME_OPENED, home_actor(manager), EVER):
            continue  # never looked: their tab is published when they first open it
        key = f"home:{manager}:{window}"
        await w.tx.enqueue(HOME_PLATFORM, home_chat(manager), home_payload(manager), key, due)


class HomeAlerts(Alerts):
    """Alerts that also refresh the managers' Home tabs: every new referral and status change passes here."""

    async def post(self, w: Work, referral_id: str) -> None:
        await super().post(w, referral_id)
        await queue_home_refresh(w, self.team)

    async def refresh(self, w: Work, referral_id: str) -> None:
        await super().refresh(w, referral_id)
        await queue_home_refresh(w, self.team)


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
