"""The narrow async interface every storage backend implements.

Domain code changes state only inside `Store.transaction()`: the state change, its audit event and
the outbox rows it causes commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.models import (
    Customer,
    Draft,
    DueAsk,
    NpsQuestion,
    OutboxRow,
    ParkedUpdate,
    Referral,
    Reward,
    Timer,
)
from bot.core.retention import Mark, Pruned, Table
from storage.privacy_base import PrivacyTransaction
from storage.reads import Reads
from storage.routing_base import RoutingTransaction
from storage.speed_base import SpeedReads
from storage.team_base import TeamTransaction
from storage.windows_base import WindowTransaction


class Transaction(PrivacyTransaction, TeamTransaction, RoutingTransaction, WindowTransaction, Protocol):
    """One unit of work's reads and writes; what concerns a person's privacy is in storage/privacy_base.py."""

    async def claim_inbound(self, inbound_id: str, at: datetime) -> bool:
        """Record an inbound update id; False when it was seen before (a replay)."""

    async def claim_request_key(self, inbound_id: str, fingerprint: str, at: datetime) -> str:
        """Record what an Idempotency-Key's request carried, unless recorded already; returns the fingerprint of
        the key's first use, which differs from `fingerprint` when the key is reused with other parameters."""

    async def customer(self, telegram_id: int) -> Customer | None: ...
    async def customer_by_code(self, code: str) -> Customer | None: ...
    async def customer_by_contact(self, contact: str) -> Customer | None:
        """The customer a contact names: an @username (in any case), a phone number (with or without +), or the
        e-mail address of an imported advocate."""

    async def insert_customer(self, customer: Customer) -> None: ...
    async def update_customer(self, telegram_id: int, **changes: Any) -> None: ...

    async def referral(self, referral_id: str) -> Referral | None: ...
    async def referral_for_friend(self, friend_telegram_id: int) -> Referral | None: ...
    async def referral_by_contact(self, contact: str) -> Referral | None:
        """The referral whose friend has this contact (a landing-page friend's phone number included)."""

    async def email_token(self, address: str, at: datetime) -> tuple[str, datetime | None]:
        """The address's unsubscribe token, made on first use, and when it unsubscribed (None: it has not)."""

    async def email_stopped(self, address: str) -> datetime | None:
        """When the address unsubscribed; None when it has not (or was never written to)."""

    async def unsubscribe_email(self, token: str, at: datetime) -> str | None:
        """Unsubscribe the address a token belongs to; None for an unknown token."""

    async def forget_email(self, address: str) -> None: ...
    async def insert_invite(self, token_hash: str, customer_id: int, at: datetime, expires_at: datetime) -> None: ...
    async def invite(self, token_hash: str) -> dict[str, Any] | None:
        """An advocate's personal link by its token's hash: customer_id, expires_at, used_at and used_by."""

    async def use_invite(self, token_hash: str, telegram_id: int, at: datetime) -> bool:
        """Spend a personal link; False when it was spent already."""

    async def move_customer(self, old_id: int, new_id: int) -> None:
        """Everything recorded under `old_id` now belongs to `new_id` (which must exist); `old_id` is deleted."""

    async def referrals_by(self, referrer_id: int) -> Sequence[Referral]: ...
    async def count_referrals_since(self, referrer_id: int, since: datetime) -> int: ...
    async def count_held(self, referrer_id: int) -> int:
        """How many of the referrer's referrals wait in the managers' review queue."""

    async def insert_referral(self, referral: Referral) -> None: ...
    async def update_referral(self, referral_id: str, **changes: Any) -> None: ...

    async def insert_reward(self, reward: Reward) -> None: ...
    async def rewards_for(self, customer_id: int) -> Sequence[Reward]: ...
    async def update_rewards_of(self, referral_id: str, role: str, **changes: Any) -> None: ...
    async def reward(self, reward_id: str) -> Reward | None: ...
    async def rewards_of(self, referral_id: str) -> Sequence[Reward]: ...
    async def owed_rewards(self, pool: str) -> Sequence[Reward]: ...
    async def update_reward(self, reward_id: str, **changes: Any) -> None: ...

    async def add_coupon(self, pool: str, code: str, at: datetime) -> bool:
        """Add a code to a pool; False when the pool has it already."""

    async def take_coupon(self, pool: str, reward_id: str, at: datetime) -> str | None:
        """Hand the pool's next available code to a reward, atomically; None when the pool is empty."""

    async def coupons_left(self, pool: str) -> int: ...

    async def insert_share_event(self, customer_id: int, channel: str, detail: str | None, at: datetime) -> None: ...

    async def insert_ask(
        self,
        ask_id: str,
        customer_id: int,
        kind: str,
        reason: str,
        variant: str | None,
        at: datetime,
        follows: str | None = None,
    ) -> bool:
        """Log an ask or follow-up; False when an ask with that id exists already (a replay)."""

    async def ask_times(self, customer_id: int, since: datetime) -> Sequence[datetime]:
        """When the customer was asked (follow-ups aside) since a moment: for cooldowns and caps."""

    async def latest_ask_reason(self, customer_id: int, since: datetime) -> str | None:
        """The reason of the customer's latest ask (follow-ups aside) since a moment: what prompted their referral."""

    async def customers_in_segments(self, segments: Sequence[str]) -> Sequence[Customer]: ...
    async def follow_ups_due(self, asked_before: datetime, limit: int) -> Sequence[tuple[str, int, datetime]]:
        """(ask id, customer id, asked at) of open asks made before a moment: each may need its reminder."""

    async def close_ask(self, ask_id: str, at: datetime) -> None:
        """The ask needs no reminder any more."""

    async def shared_since(self, customer_id: int, since: datetime) -> bool:
        """Whether the customer shared their link or brought a referral since a moment."""

    async def last_nps_score(self, customer_id: int) -> int | None:
        """The score of the customer's latest NPS answer; None when they never answered."""

    async def add_due_ask(self, ask: DueAsk, at: datetime) -> bool:
        """Schedule an ask for its trigger's moment; False when one with that id exists already (a replay)."""

    async def schedule_due_asks(
        self, id_prefix: str, trigger: str, segments: Sequence[str], due_at: datetime, at: datetime
    ) -> int:
        """A schedule's ask for everyone in the segments who may be asked at all (not opted out, reachable), each
        with the id `id_prefix` + their Telegram id; returns how many were added (not there already)."""

    async def settle_due_ask(self, ask_id: str, outcome: str, at: datetime) -> bool:
        """Record what became of a waiting ask; False when it was settled already (by another instance)."""

    async def due_asks(self, ids: Sequence[str]) -> Sequence[DueAsk]:
        """The scheduled asks with these ids, soonest first."""

    async def draft(self, telegram_id: int) -> Draft | None: ...
    async def save_draft(self, draft: Draft) -> None: ...
    async def delete_draft(self, telegram_id: int) -> None: ...

    async def add_nps_question(
        self, question_id: str, customer_id: int, trigger: str, dedupe_key: str | None, variant: str, at: datetime
    ) -> bool:
        """Record an NPS question asked; False when one with that dedupe key was asked already."""

    async def nps_question(self, question_id: str) -> NpsQuestion | None: ...
    async def answer_nps(self, question_id: str, customer_id: int, score: int, at: datetime) -> bool:
        """Set the question's score once; False when it is not theirs or was answered already."""

    async def update_nps(self, question_id: str, **changes: Any) -> None:
        """Set `comment`, `commented_at` or `alerted_at`."""

    async def last_nps_asked(self, customer_id: int) -> datetime | None: ...
    async def add_feedback_answer(self, customer_id: int, question: str, answer: str, at: datetime) -> None: ...

    async def add_timer(self, referral_id: str, kind: str, due_at: datetime, at: datetime) -> None: ...
    async def cancel_timers(self, referral_id: str, at: datetime) -> None:
        """Cancel the referral's pending timers: it moved on, so no nudge may fire for it."""

    async def finish_timer(self, timer_id: str, status: str, at: datetime) -> None: ...

    async def count_events(self, kind: str, actor: str, since: datetime) -> int: ...

    async def log_event(
        self, kind: str, at: datetime, actor: str | None = None, subject: str | None = None, **data: Any
    ) -> None:
        """Append to the audit trail; rows are never updated or deleted."""

    async def enqueue(
        self,
        platform: str,
        chat_id: str,
        payload: dict[str, Any],
        dedupe_key: str,
        at: datetime,
        about: Sequence[str] = (),
        lane: int | None = None,
    ) -> bool:
        """Add an outbox row; False when a row with that dedupe key exists already. `about` are the subjects
        (bot/core/subjects.py) whose names its text carries besides its recipient's, so forgetting finds it.
        `lane` is its priority (bot/core/lanes.py); None takes its platform's usual one."""


@dataclass
class CommitCounts:
    """Write transactions stored, and the COMMITs that carried them: more writes than commits means shared fsyncs."""

    writes: int = 0
    commits: int = 0


class Store(Reads, SpeedReads, Protocol):
    commit_counts: CommitCounts
    # How many senders' Telegram updates a poller may run side by side. SQLite runs writes one at a time in the
    # order they come and lets those that queue share a commit, so side by side is both faster and in order.
    # On PostgreSQL they would truly overlap, and which of two friends of one referrer came first would be
    # left to chance, so there they run one after another.
    updates_at_once: int

    async def migrate(self) -> list[str]:
        """Apply pending migrations in order; return the names applied."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    async def claim_inbound(self, inbound_id: str, at: datetime) -> bool:
        """Record a processed inbound id in a commit of its own, for a request that changes nothing else (a report
        a manager asked for); False when it was recorded before. Changes claim theirs in their own transaction."""

    def reading(self) -> AbstractAsyncContextManager[Transaction]:
        """The same queries on the read connection, for pure reads: no write lock, nothing to commit."""

    async def claim_due(
        self, now: datetime, limit: int, lease: timedelta, platform: str | None = None, bulk: int | None = None
    ) -> Sequence[OutboxRow]:
        """Lease up to `limit` due outbox rows so no other sender takes them until the lease ends: the higher lanes
        first, a chat's rows always in the order they were queued, and at most `bulk` rows of the bulk lane (None:
        up to `limit`). A row ahead of a more urgent one in its chat goes with it, in that row's lane. A notification
        held for its chat's window (`hold_notification`) holds up only the held rows after it."""

    async def mark_sent(self, sent: Mapping[str, str | None], at: datetime) -> None:
        """Record rows that went out (row id → the platform's message id), all in one commit, ahead of
        other writes: until it is recorded, a crash would send a row again."""

    async def retry_later(self, row_id: str, at: datetime, error: str, counts: bool = True) -> None:
        """Put a row back for later; `counts=False` when the row itself did not fail (it waited its turn)."""

    async def take_over_leases(self, at: datetime) -> int:
        """Make rows and timers a dead process left leased due now; only when no other instance can be running.
        Returns how many outbox rows it took over."""

    async def release(self, row_id: str, at: datetime) -> None:
        """Hand a leased row back at once (shutdown); a row already settled is left alone."""

    async def mark_dead(self, row_id: str, at: datetime, error: str) -> None: ...

    async def park_update(self, update: ParkedUpdate, at: datetime) -> None:
        """Keep an update whose handling failed (or that waits behind one), or record another failed attempt."""

    async def parked_updates(self) -> Sequence[ParkedUpdate]:
        """Every parked update, oldest first."""

    async def unpark_update(self, update_id: int) -> None: ...
    async def claim_due_timers(self, now: datetime, limit: int, lease: timedelta) -> Sequence[Timer]: ...
    async def remember_alerts(
        self, referral_ids: Sequence[str], channel: str, ts: str, digest: bool, at: datetime, with_send: bool = False
    ) -> None:
        """Record where referrals' alerts were posted (one card, or many lines of one digest), in one commit.
        `with_send`: in the commit of the next `mark_sent` instead, the record of the send that posted them
        (one fsync less per alert; until then `alert_message` does not see them)."""

    async def alert_message(self, referral_id: str) -> tuple[str, bool] | None:
        """The alert's ts and whether it is only a digest line; None while it is not posted."""

    async def waiting_alerts(self, channel: str) -> int:
        """How many new-referral alerts are queued for a channel: the backlog that triggers digests."""

    async def site_key(self, name: str, at: datetime) -> str:
        """A secret the web pages sign with, made once and shared by every instance."""

    async def begin_email(self, outbox_id: str, at: datetime) -> bool:
        """Record, in a commit of its own, that an e-mail's SMTP exchange begins; False when one began before (its
        outcome is unknown: the bot stopped mid-send), so it is not sent again."""

    async def end_email_attempt(self, outbox_id: str) -> None:
        """Forget an e-mail's attempt that surely did not deliver (the server refused it), so a retry may send it."""

    async def kit_files(self) -> dict[tuple[str, str], str]:
        """(kind, digest) → Telegram's file_id, for every referral-kit file uploaded so far."""

    async def remember_kit_file(self, kind: str, digest: str, file_id: str, at: datetime) -> None:
        """Keep the file_id Telegram gave an uploaded kit file (photo or document), so it is never uploaded again."""

    async def recount_report_figures(self) -> None:
        """Count the report tallies and stored durations again from the rows, in one transaction: after rows
        were changed by hand, outside the bot. Writers wait meanwhile (seconds for a million referrals)."""

    async def prune(self, table: Table, before: datetime, after: Mark, limit: int) -> Pruned:
        """Look at up to `limit` rows of `table` older than `before`, past `after`, and delete those the retention
        lets go (bot/core/retention.py), in one short transaction; say where the scan now stands."""

    async def scrub(self) -> bool:
        """After an erasure: leave no earlier version of erased rows in the database files; False when another
        connection kept that from finishing in time."""

    async def close(self) -> None: ...
