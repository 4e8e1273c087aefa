"""Per-person flood control: one account cannot farm /start or hammer the bot.

It runs before every other handler. Past the limit, updates are dropped (and confirmed, so they
are not redelivered); the person is told once per window why the bot went quiet.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.customers.services import CustomerServices
from handlers.telegram.routes import chat_user, inbound_id

log = logging.getLogger(__name__)


class FloodGuard:
    def __init__(self, services: CustomerServices, per_minute: int, keep: int = 50_000) -> None:
        self._services = services
        self._limit = per_minute
        self._keep = keep
        self._seen: OrderedDict[int, deque[float]] = OrderedDict()

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(TypeHandler(Update, self.check), group=-1)

    async def check(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None or update.inline_query is not None:  # typing an inline query is cheap and read-only
            return
        now = time.monotonic()
        hits = self._seen.pop(user.id, None) or deque()
        while hits and now - hits[0] > 60.0:
            hits.popleft()
        hits.append(now)
        self._seen[user.id] = hits
        while len(self._seen) > self._keep:
            self._seen.popitem(last=False)
        if len(hits) <= self._limit:
            return
        if len(hits) == self._limit + 1:
            log.warning("tg:%s sent more than %d updates a minute; dropping", user.id, self._limit)
            await self._services.preferences.slow_down(inbound_id(update), chat_user(update))
        raise ApplicationHandlerStop
