"""Each Telegram update handled once, and a failing one kept out of everyone else's way.

An update whose handler fails is parked: written to the database as it came, so the poller can confirm the
updates behind it (Telegram confirms by offset, so one stuck update would hold back every person's) and a retry
loop handles it again with backoff, giving up after MAX_ATTEMPTS. The same person's later updates are parked
behind it, so their order holds. When even parking fails the database is away: the update stays unconfirmed and
Telegram delivers it again. An inline query is never parked: its answer is useless seconds later, so a failed one
is dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from telegram import Update
from telegram.ext import Application

from bot.core.lanes import acting_for
from bot.core.models import ParkedUpdate
from handlers.telegram.batches import sender_of

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # then the update is logged as poison and dropped
BACKOFF_CAP_SECONDS = 16.0  # waits of 2, 4, 8 and 16 s: half a minute of retries before giving up


class ParkingStore(Protocol):
    async def park_update(self, update: ParkedUpdate, at: datetime) -> None: ...
    async def parked_updates(self) -> Sequence[ParkedUpdate]: ...
    async def unpark_update(self, update_id: int) -> None: ...


@dataclass
class _Parked:
    row: ParkedUpdate
    due: float  # time.monotonic() when it is tried again
    stored: bool = False  # its row is written: the retry loop must not handle (and delete) it before


def backoff(attempts: int) -> float:
    return min(2.0**attempts, BACKOFF_CAP_SECONDS)


class Intake:
    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        store: ParkingStore,
        failed: set[int],
        now: Callable[[], datetime],
    ) -> None:
        self._app = app
        self._store = store
        self._failed = failed  # update ids whose handler failed, filled by the channel's error handler
        self._now = now
        self._waiting: dict[int, deque[_Parked]] = {}  # sender → their parked updates, oldest first
        self._wake = asyncio.Event()

    @property
    def parked(self) -> int:
        return sum(len(line) for line in self._waiting.values())

    async def load(self) -> None:
        """Take up what an earlier run parked: due now, each person's in their order."""
        for row in await self._store.parked_updates():
            self._waiting.setdefault(row.sender, deque()).append(_Parked(row, 0.0, stored=True))
        if self._waiting:
            log.info("%d parked Telegram updates to handle again", self.parked)

    async def take(self, update: Update) -> bool:
        """Handle an update; True when it is settled (handled, parked or dropped), False when it could not even be
        parked, so it must be delivered again."""
        if update.inline_query is not None:  # read-only and answered at once, or not at all
            if not await self._handle(update):
                log.warning("inline query in update %s failed; dropped (it expires in seconds)", update.update_id)
            return True
        sender = sender_of(update)
        if sender in self._waiting:
            return await self._park(update, sender, attempts=0)  # behind the person's parked one
        return await self._handle(update) or await self._park(update, sender, attempts=1)

    async def retry_forever(self) -> None:
        while True:
            now = time.monotonic()
            heads = [line[0] for line in self._waiting.values() if line[0].stored]
            due = [head for head in heads if head.due <= now]
            if not due:
                self._wake.clear()
                wait = min((head.due - now for head in heads), default=None)
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            for head in due:
                await self._retry(head)

    async def _handle(self, update: Update) -> bool:
        user = update.effective_user
        # Whose update this is: the replies to their private chat go first in the outbox (bot/core/lanes.py).
        with acting_for(user.id if user is not None else None):
            await self._app.process_update(update)
        if update.update_id in self._failed:
            self._failed.discard(update.update_id)
            return False
        return True

    async def _park(self, update: Update, sender: int, attempts: int) -> bool:
        row = ParkedUpdate(update.update_id, sender, json.dumps(update.to_dict()), attempts)
        parked = _Parked(row, time.monotonic() + (backoff(attempts) if attempts else 0.0))
        line = self._waiting.setdefault(sender, deque())
        line.append(parked)  # before the write, so an update of theirs arriving meanwhile queues behind it
        try:
            await self._store.park_update(row, self._now())
        except Exception as error:  # the database is away: Telegram keeps the update and delivers it again
            line.remove(parked)
            if not line:
                del self._waiting[sender]
            log.warning("update %s could not be parked (%s); it will be delivered again", update.update_id, error)
            return False
        parked.stored = True
        if attempts:
            log.warning("update %s failed; parked, retrying in %.0f s", update.update_id, backoff(attempts))
        self._wake.set()
        return True

    async def _retry(self, parked: _Parked) -> None:
        row = parked.row
        update = Update.de_json(json.loads(row.payload), self._app.bot)
        handled = await self._handle(update)
        attempts = row.attempts + (0 if handled else 1)
        if not handled and attempts < MAX_ATTEMPTS:
            parked.row = ParkedUpdate(row.update_id, row.sender, row.payload, attempts)
            parked.due = time.monotonic() + backoff(attempts)
            try:
                await self._store.park_update(parked.row, self._now())
            except Exception as error:  # counted in memory all the same; the row catches up on the next failure
                log.warning("update %s: could not record its attempt (%s)", row.update_id, error)
            return
        if not handled:
            log.error("update %s failed %d times; skipping it", row.update_id, attempts)
        try:
            await self._store.unpark_update(row.update_id)
        except Exception as error:  # handled again later: the inbound-id check makes that safe
            log.warning("update %s: could not unpark it (%s); trying again", row.update_id, error)
            parked.due = time.monotonic() + 1.0
            return
        line = self._waiting[row.sender]
        line.popleft()
        if not line:
            del self._waiting[row.sender]
