"""How long the bot keeps what it has finished with (RETENTION_DAYS), and what it keeps whatever its age.

Pruned once older than the retention:
- outbox rows that were sent. Unsent and leased rows are never touched, nor are dead letters (a message someone
  never got, counted by `/referrals stats` and the metrics until an operator deals with it), nor the team's Slack
  messages that may quote a person (thread lines, DMs, notices): `forget` finds those there to redact them in Slack,
  nor routing's DM cards, which it redraws.
- processed inbound ids and CRM Idempotency-Keys, but never before REPLAY_DAYS whatever the setting: Telegram
  redelivers an unconfirmed update for up to 24 hours, Slack retries within minutes, and a CRM retries a request
  with its key; within that window a repeat must still find its id taken.
- audit events, except those about a referral (its trail in the CRM API and the CSV export read them for all time)
  and KEPT_EVENT_KINDS, which the bot reads back for all time.

Nothing a report counts is removed: the funnel, leaderboard and medians come from referrals and their tallies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Table = Literal["outbox", "events", "processed_inbound", "request_keys"]
TABLES: tuple[Table, ...] = ("outbox", "events", "processed_inbound", "request_keys")
REPLAY_DAYS = 7
# bot/team/alerts.py's HOME_OPENED: who has ever opened the Home tab, and so gets its refreshes.
KEPT_EVENT_KINDS = ("slack.home_opened",)

# Where a scan of one table stands: the time (as stored) and id of the last row it looked at. Rows older than the
# retention that are kept stay behind it, so the next batch and the next pass do not read them again.
Mark = tuple[str, str]
START: Mark = ("", "")  # every stored time sorts after ''


@dataclass(frozen=True)
class Pruned:
    """One batch: how many rows it deleted, where the scan stands, and whether it reached the cutoff."""

    removed: int
    mark: Mark
    done: bool


def cutoffs(days: int, now: datetime) -> dict[Table, datetime]:
    """Per table, the moment before which its rows may go."""
    kept, replays = now - timedelta(days=days), now - timedelta(days=max(days, REPLAY_DAYS))
    return {"outbox": kept, "events": kept, "processed_inbound": replays, "request_keys": replays}


def summary(removed: Mapping[Table, int]) -> str:
    """The rows removed per table, as "outbox 120, events 40, ...": for the log line and the operator's command."""
    return ", ".join(f"{table} {removed.get(table, 0)}" for table in TABLES)
