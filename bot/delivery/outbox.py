"""The outbox dispatcher: sends committed outbox rows through each platform's sender.

Rows are leased before sending, so a crash mid-send means the row goes out again once the lease
ends. A chat's rows are sent in order; different chats are sent concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.core.clock import Clock
from bot.core.lanes import Lane
from bot.core.models import OutboxRow
from bot.delivery.lanes import HEADROOM, LaneBudget, bulk_cap
from bot.delivery.rate_limits import ChatLimits
from bot.delivery.sending import BatchSender, DispatchPolicy, Outages, Sender, SendFailed
from bot.reports.metrics import Metrics
from storage.base import Store

log = logging.getLogger(__name__)
__all__ = ["BatchSender", "DispatchPolicy", "Dispatcher", "SendFailed", "Sender"]  # senders import them from here


class Dispatcher:
    def __init__(
        self, store: Store, senders: Mapping[str, Sender], clock: Clock, policy: DispatchPolicy | None = None
    ) -> None:
        self._store = store
        self._senders = senders  # by platform, or by "platform/kind" for rows of a kind with a sender of its own
        self._clock = clock
        self._policy = policy or DispatchPolicy()
        self._stopping = False
        self._limits = ChatLimits(dict(self._policy.rates), clock)
        self._outages = Outages(self._policy.outage_backoff)
        self._slots: dict[str, asyncio.Semaphore] = {}  # per platform; senders may be added after start
        self._in_flight: dict[str, set[str]] = {}  # per platform: rows being sent
        self._busy: dict[str, set[str]] = {}  # per platform: chats being sent to, one task each
        self._bulk: dict[str, set[str]] = {}  # per platform: the rows in flight that are bulk (capped: see _loop)
        weights = self._policy.lane_weights
        self._budgets = {name: LaneBudget(rate * HEADROOM, weights) for name, rate in self._policy.budgets}
        self._unrecorded: dict[str, str | None] = {}  # sent, waiting for the next commit: row id → message id
        self._recorded: list[asyncio.Future[None]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._wakeups: dict[str, asyncio.Event] = {}
        self.on_dead: Callable[[OutboxRow, str], Awaitable[None]] | None = None
        self.metrics = Metrics()  # the engine's own, with its registry, replaces this stand-alone one

    def wake(self) -> None:
        """Called after a commit that queued messages, so they leave at once rather than on the next poll."""
        for wakeup in self._wakeups.values():
            wakeup.set()

    def stop(self) -> None:
        """Take no new rows; each chat ends after its current send and hands the rest back, then run() returns."""
        self._stopping = True
        for budget in self._budgets.values():
            budget.close()  # chats waiting for a send hand their rows back
        self.wake()

    async def run(self) -> None:
        """One loop per platform, so Telegram's pace never holds up a Slack alert, or the reverse."""
        try:
            platforms = dict.fromkeys(key.split("/")[0] for key in self._senders)  # "slack/reward_task" is slack's
            await asyncio.gather(*(self._loop(platform) for platform in platforms))
        finally:
            # Cancelled mid-send (shutdown past its grace): record what went out, then hand the
            # other rows back now rather than leaving them leased, so the next start sends them at once.
            await asyncio.shield(self._release())

    async def _release(self) -> None:
        if self._recorder is not None:
            with contextlib.suppress(Exception):
                await self._recorder
        for row_id in [row_id for rows in self._in_flight.values() for row_id in rows]:
            with contextlib.suppress(Exception):
                await self._store.release(row_id, self._clock.now())
        self._in_flight.clear()

    async def _loop(self, platform: str) -> None:
        """Claims keep coming while chats are being sent: a chat waiting out its own rate (a referrer with twenty
        thank-yous at one a second) never holds up a new friend's welcome. A chat with rows in flight is left out
        of later claims by its leases, so its order holds.

        Bulk rows are claimed in batches (a bulk claim reads the open part of the outbox, so one per finished chat
        would cost far more than the sends) and only up to a cap (bot/delivery/lanes.py), which leaves room for a
        reply queued behind a campaign. Rows above bulk are claimed whenever there is room: that claim reads only
        them."""
        wakeup = self._wakeups.setdefault(platform, asyncio.Event())
        in_flight = self._in_flight.setdefault(platform, set())
        bulk = self._bulk.setdefault(platform, set())
        cap = bulk_cap(self._policy.batch, self._policy.bulk_share, self._budgets.get(platform))
        chats: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                claimed = 0
                if (room := self._policy.batch - len(in_flight)) > 0:
                    bulk_room = cap - len(bulk) if cap - len(bulk) >= cap // 4 or not bulk else 0
                    try:
                        claimed = await self._claim(platform, room, bulk_room, chats)
                    except Exception:  # the database busy or briefly gone: wait and carry on, never die
                        log.exception("outbox pass for %s failed; retrying", platform)
                if not claimed and not self._stopping:
                    wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wakeup.wait(), self._policy.idle_wait)
                    await asyncio.sleep(self._policy.claim_gap)  # let a burst of commits share one claim
            await asyncio.gather(*chats, return_exceptions=True)  # stopping: each chat ends after its current send
        finally:
            for chat in chats:
                chat.cancel()

    async def _claim(self, platform: str, room: int, bulk: int, chats: set[asyncio.Task[None]]) -> int:
        rows = await self._store.claim_due(self._clock.now(), room, self._policy.lease, platform, bulk)
        in_flight, busy = self._in_flight[platform], self._busy.setdefault(platform, set())
        by_chat: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            if row.chat_id not in busy:
                by_chat[row.chat_id].append(row)
                in_flight.add(row.id)
                if row.lane >= Lane.BULK:
                    self._bulk[platform].add(row.id)
            elif row.id not in in_flight:  # a lease ran out while its chat is still being sent (a very slow send)
                await self._store.release(row.id, self._clock.now())  # keep the chat's order: after the current one
        for chat_id, chat_rows in by_chat.items():
            busy.add(chat_id)
            chat = asyncio.create_task(self._send_chat(chat_rows))
            chats.add(chat)
            chat.add_done_callback(functools.partial(self._chat_done, platform, chat_id, [r.id for r in chat_rows]))
        return sum(len(chat_rows) for chat_rows in by_chat.values())

    def _chat_done(self, platform: str, chat_id: str, row_ids: list[str], chat: asyncio.Task[None]) -> None:
        self._in_flight[platform].difference_update(row_ids)
        self._bulk[platform].difference_update(row_ids)
        self._busy[platform].discard(chat_id)
        self._wakeups[platform].set()  # room for more, and that chat's later rows may now be claimed
        if not chat.cancelled() and chat.exception() is not None:
            log.error("sending to a chat failed", exc_info=chat.exception())

    def _slot(self, platform: str) -> asyncio.Semaphore:
        """Held for the request and for recording it, not for a chat's wait for its own turn (which would hold up
        the other chats). Recording before the next send bounds what a crash can repeat: at most one send per slot."""
        return self._slots.setdefault(platform, asyncio.Semaphore(self._policy.concurrency))

    async def _send_chat(self, rows: Sequence[OutboxRow]) -> None:
        index = 0
        while index < len(rows):
            row = rows[index]
            if self._stopping:  # shutting down: hand back what has not started, so the next start sends it
                for unsent in rows[index:]:
                    await self._store.release(unsent.id, self._clock.now())
                return
            paused = self._limits.paused_until(row.platform)
            if paused is None:
                await self._limits.wait_turn(row.platform, row.chat_id)
                # Then the platform's overall turn, by lane; a row ahead of a more urgent one goes in that one's lane.
                budget = self._budgets.get(row.platform)
                if budget is not None and not await budget.take(min(r.lane for r in rows[index:])):
                    continue  # stopping: handed back above
                paused = self._limits.paused_until(row.platform)  # a 429 may have come while we waited
            merged, retry_at = (0, None) if paused else await self._merge(rows[index:])
            if merged:
                index += merged
                continue
            if retry_at is None:
                retry_at = paused or await self._deliver(row)
            if paused is not None:
                await self._store.retry_later(row.id, paused, "waiting for the platform", counts=False)
            if retry_at is not None:
                # Keep the chat's order: later rows wait until the one that failed goes again.
                for later in rows[index + 1 :]:
                    await self._store.retry_later(later.id, retry_at, "waiting for an earlier message", counts=False)
                return
            index += 1

    async def _merge(self, rows: Sequence[OutboxRow]) -> tuple[int, datetime | None]:
        """Let a batching sender merge leading rows into one message: how many it took, or when
        to try again if that failed."""
        sender = self._senders.get(rows[0].platform)
        if not isinstance(sender, BatchSender):
            return 0, None
        try:
            async with self._slot(rows[0].platform):
                started = time.monotonic()  # the call itself, not the wait for a slot
                sent = await sender.send_batch(rows)
                if sent:
                    self._reached(rows[0].platform)
                self.metrics.sent(rows[: len(sent)], self._clock.now(), time.monotonic() - started)
                await self._settle({row.id: sent[row.id] for row in rows[: len(sent)]})
        except SendFailed as failure:
            if failure.retry_after is None and not failure.unreachable:  # the merged message failed: send singly
                log.warning(
                    "merged send to %s:%s failed (%s); sending singly", rows[0].platform, rows[0].chat_id, failure
                )
                return 0, None
            return 0, await self._failed(rows[0], failure)
        return len(sent), None

    def _sender(self, row: OutboxRow) -> Sender | None:
        """The sender of a row's kind ("slack/reward_task"), else its platform's."""
        return self._senders.get(f"{row.platform}/{row.payload.get('kind')}") or self._senders.get(row.platform)

    async def _deliver(self, row: OutboxRow) -> datetime | None:
        """Send one row; return when to try again, or None when it is settled (sent or dead)."""
        sender = self._sender(row)
        if sender is None:
            await self._store.mark_dead(row.id, self._clock.now(), f"no sender for {row.platform}")
            self.metrics.dead_letters.labels(row.platform).inc()
            return None
        try:
            async with self._slot(row.platform):
                if (paused := self._limits.paused_until(row.platform)) is not None:  # the try before ours failed
                    await self._store.retry_later(row.id, paused, "waiting for the platform", counts=False)
                    return paused
                started = time.monotonic()  # the call itself, not the wait for a slot
                message_id = await sender.send(row)
                self._reached(row.platform)
                self.metrics.sent([row], self._clock.now(), time.monotonic() - started)
                await self._settle({row.id: message_id})  # before the slot is free: see _slot
        except SendFailed as failure:
            return await self._failed(row, failure)
        except Exception as exc:  # a bug or an unexpected reply must not stop the other chats
            log.exception("outbox row %s: unexpected error", row.id)
            return await self._failed(row, SendFailed(f"{type(exc).__name__}: {exc}"))
        return None

    async def _settle(self, sent: dict[str, str | None]) -> None:
        """Record sends that went out. Sends finishing together share one commit (group commit), so
        recording keeps up with any send rate and a delivered row stays unrecorded only briefly."""
        if not sent:
            return
        recorded = asyncio.get_running_loop().create_future()
        self._unrecorded.update(sent)
        self._recorded.append(recorded)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record())
        await asyncio.shield(recorded)  # a cancelled sender must not cancel the commit others wait on

    async def _record(self) -> None:
        while self._recorded:
            sent, waiting = self._unrecorded, self._recorded
            self._unrecorded, self._recorded = {}, []
            await self._record_batch(sent)
            for recorded in waiting:
                recorded.set_result(None)

    async def _record_batch(self, sent: dict[str, str | None]) -> None:
        """If the database is busy or away, keep trying while the rows' lease lasts: nothing sends them again before
        it ends (here their chat is still busy), and giving up sooner would only make that second send certain."""
        attempt, deadline = 0, time.monotonic() + self._policy.lease.total_seconds()
        while time.monotonic() + min(attempt, 5) < deadline:
            await asyncio.sleep(min(attempt, 5))
            try:
                await self._store.mark_sent(sent, self._clock.now())
                return
            except Exception as error:
                attempt += 1
                if attempt == 1:
                    log.warning("%d outbox rows sent but not yet recorded (%s); retrying", len(sent), error)
        log.error("outbox rows %s sent but not recorded; they will be sent again after their lease", sorted(sent))

    def _reached(self, platform: str) -> None:
        if self._outages.reached(platform):
            log.warning("%s can be reached again; the messages that waited go out now", platform)

    async def _failed(self, row: OutboxRow, failure: SendFailed) -> datetime | None:
        now = self._clock.now()
        if failure.unreachable:  # not this message's fault: it keeps its attempts, and every send waits
            wait = self._outages.failed(row.platform)
            log.warning("%s cannot be reached (%s); sends wait, next try in %.0fs", row.platform, failure, wait)
            until = self._limits.pause(row.platform, wait)
            await self._store.retry_later(row.id, until, str(failure), counts=False)
            return until
        if failure.permanent or row.attempts >= self._policy.max_attempts:
            log.error("outbox row %s to %s:%s is dead: %s", row.id, row.platform, row.chat_id, failure)
            await self._store.mark_dead(row.id, now, str(failure))
            self.metrics.dead_letters.labels(row.platform).inc()
            if failure.permanent and self.on_dead is not None:
                await self.on_dead(row, str(failure))
            return None
        if failure.throttled:
            self.metrics.rate_limited.labels(row.platform).inc()
        if failure.retry_after is not None:
            wait = failure.retry_after
            if failure.throttled:
                self._limits.pause(row.platform, wait)
        else:
            wait = min(self._policy.max_backoff, 2.0**row.attempts) * random.uniform(0.5, 1.0)
        log.warning("outbox row %s: %s; retrying in %.1fs", row.id, failure, wait)
        retry_at = now + timedelta(seconds=wait)
        await self._store.retry_later(row.id, retry_at, str(failure))
        return retry_at
