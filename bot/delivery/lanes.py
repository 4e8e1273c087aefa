"""A platform's overall send budget, shared out among the outbox lanes (bot/core/lanes.py).

With many chats ready at once, what decides who sends next is the platform's overall rate (Telegram: about 30 a
second for the whole bot). Each chat's task first waits for its own chat's turn (1 a second), and only then asks the
budget for a send: a row waiting for its chat holds nothing that another chat could use.

How the budget is shared: weighted, lanes 1..4 at 8:4:2:1 of what is contended (stride scheduling). Each lane has a
pass; the waiting lane with the lowest pass gets the next send and its pass moves on by 1/weight. Chosen over strict
priority with a guaranteed floor because:
- no lane starves by construction, with no window to keep: with a steady stream of replies, a campaign still gets
  1 send in 9 (3 a second of Telegram's 30), and with replies and thank-yous both busy, 1 in 11;
- it is work-conserving: an idle lane's share goes to the others, so a campaign alone gets the whole rate;
- a reply waits for at most one send of a lower lane: a lane that was idle comes back at the current pass, neither
  owed the turns it did not use nor behind the lanes that kept sending.

The budget runs slightly under the platform's limit (HEADROOM) with a small burst, so python-telegram-bot's
AIORateLimiter, kept as a safety net at the full limit, never has to queue a request: its queue is first come first
served and would undo the lanes' order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence

from bot.core.lanes import LANES

WEIGHTS = (8, 4, 2, 1)  # lanes 1..4
HEADROOM = 0.98  # of the platform's limit: under it, so the SDK's own limiter never queues; near, so little is lost
# Sends that may go at once after a pause: a sixth of a second's worth, what PTB's limiter allows at once
# (handlers/telegram/channel.py), so it still never queues. Less loses sends whenever the event loop is held up for
# a moment (a Slack digest being rendered, say): the budget could only catch up by its burst, and the rest of the
# stall's share was lost, 5% of Telegram's rate in bench_delivery at a tenth of a second.
BURST_SECONDS = 1 / 6
# Bulk rows claimed at once: about this long of sending at the full rate. Enough to keep the budget busy between
# claims; few enough that a reply to someone whose campaign message is already claimed waits for little.
BULK_SECONDS = 2.0


def bulk_cap(batch: int, share: float, budget: LaneBudget | None) -> int:
    """How many bulk rows of a platform may be in flight at once."""
    cap = max(1, int(batch * share))
    return cap if budget is None else max(1, min(cap, int(budget.per_second * BULK_SECONDS)))


class LaneBudget:
    """Grants sends at `per_second`, to the waiting lane whose turn it is by weight."""

    def __init__(self, per_second: float, weights: Sequence[int] = WEIGHTS) -> None:
        self.per_second = per_second
        self._interval = 1.0 / per_second
        self._burst = max(1.0, per_second * BURST_SECONDS)
        self._stride: dict[int, float] = {lane: 1.0 / weight for lane, weight in zip(LANES, weights, strict=True)}
        self._pass: dict[int, float] = dict.fromkeys(LANES, 0.0)
        self._now_pass = 0.0  # the pass of the last grant: where a lane that was idle comes back in
        self._waiting: dict[int, deque[asyncio.Future[bool]]] = {lane: deque() for lane in LANES}
        self._tokens = self._burst
        self._refilled: float | None = None
        self._granter: asyncio.Task[None] | None = None
        self._closed = False

    def waiting(self, lane: int) -> int:
        return sum(not future.done() for future in self._waiting[_known(lane)])

    async def take(self, lane: int) -> bool:
        """Wait for a send in this lane; False when the budget was closed meanwhile (the dispatcher is stopping)."""
        lane = _known(lane)
        if self._closed:
            return False
        if not any(self._waiting.values()) and self._token():
            self._grant(lane)
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if not self._waiting[lane]:
            self._pass[lane] = max(self._pass[lane], self._now_pass)
        self._waiting[lane].append(future)
        if self._granter is None or self._granter.done():
            self._granter = asyncio.create_task(self._grant_in_turn())
        try:
            return await future
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._waiting[lane].remove(future)
            raise

    def close(self) -> None:
        """Stop granting: every waiting chat is told to hand its rows back."""
        self._closed = True
        for queue in self._waiting.values():
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(False)
        if self._granter is not None:
            self._granter.cancel()

    async def _grant_in_turn(self) -> None:
        while not self._closed:
            for queue in self._waiting.values():
                while queue and queue[0].done():  # a chat task cancelled while it waited
                    queue.popleft()
            ready = [lane for lane in LANES if self._waiting[lane]]
            if not ready:
                return
            if not self._token():
                await asyncio.sleep(self._until_token())
                continue
            lane = min(ready, key=lambda candidate: (self._pass[candidate], candidate))
            self._grant(lane)
            self._waiting[lane].popleft().set_result(True)

    def _grant(self, lane: int) -> None:
        self._tokens -= 1.0
        self._pass[lane] = max(self._pass[lane], self._now_pass)
        self._now_pass = self._pass[lane]
        self._pass[lane] += self._stride[lane]

    def _token(self) -> bool:
        """Whether a send may go now, after topping up what the time since the last look earned."""
        now = asyncio.get_running_loop().time()
        if self._refilled is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._refilled) / self._interval)
        self._refilled = now
        return self._tokens >= 1.0

    def _until_token(self) -> float:
        return max(0.001, (1.0 - self._tokens) * self._interval)


def _known(lane: int) -> int:
    """A lane out of range (a row written by a later version, say) is treated as the nearest one known."""
    return min(max(int(lane), LANES[0]), LANES[-1])
