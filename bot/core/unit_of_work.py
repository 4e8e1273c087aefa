"""One inbound event, one transaction: the replay check, the state change, the audit event and
the outbox rows commit together, and the dispatcher is woken only after the commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.clock import Clock
from bot.core.codes import new_code
from bot.core.lanes import Lane, current_actor, lane_for
from bot.core.models import ChatUser, Customer, Outgoing, Segment
from bot.core.notifications import DEFAULT_WINDOW, FOLDED, NotificationWindow
from bot.core.validation import profile_text
from messages import normalize_locale
from storage.base import Store, Transaction

if TYPE_CHECKING:  # seams the wiring fills: core stays below the concepts that use it
    from bot.integrations.webhooks import Webhooks
    from bot.program.rules import Program
    from bot.program.texts import Texts
    from bot.team.alerts import Alerts

log = logging.getLogger(__name__)
# How a message for someone outside Telegram reaches them (bot/customers/emails.py): by e-mail, or not at all.
Elsewhere = Callable[["Work", Outgoing, Sequence[str]], Awaitable[None]]


@dataclass
class Work:
    """What a unit of work has to hand: its transaction, the time it happens at, and a way to reply."""

    tx: Transaction
    now: datetime
    inbound_id: str
    _sent: int = 0
    elsewhere: Elsewhere | None = None
    window: NotificationWindow = DEFAULT_WINDOW
    actor: int | None = None  # the private chat of the person whose Telegram update this is (bot/core/lanes.py)
    bulk: bool = False  # queued by a sweep or an operator command for many people: the outbox's last lane

    async def send(self, message: Outgoing, about: Sequence[str] = (), merge: dict[str, Any] | None = None) -> None:
        """Queue a Telegram message; `about` are the other people it names (bot/core/subjects.py). A customer not
        on Telegram yet (an advocate imported with an e-mail address) gets the same words by e-mail instead.
        `merge` makes it a notification that may wait for its chat's window and merge with others of its kind
        (bot/core/notifications.py)."""
        if message.chat_id < 0:
            if self.elsewhere is not None:
                await self.elsewhere(self, message, about)
            return
        payload = message.to_payload()
        if merge is not None and self.window.on:
            payload["merge"] = merge
        await self.post("telegram", str(message.chat_id), payload, about=about)

    async def post(
        self,
        platform: str,
        chat_id: str,
        payload: dict[str, Any],
        key: str | None = None,
        about: Sequence[str] = (),
        lane: Lane | None = None,
    ) -> None:
        """Queue any outbox row; the key defaults to one unique to this event and row. `about` are the people whose
        names it carries besides its recipient's: forgetting one of them erases it, whatever the name. The lane
        follows from who the row is for and why (bot/core/lanes.py) unless given."""
        self._sent += 1
        key = key or f"{self.inbound_id}/{self._sent}"
        lane = lane or lane_for(platform, chat_id, self.actor, self.bulk)
        if "merge" in payload and await self._held(platform, chat_id, payload, key, about, lane):
            return
        await self.tx.enqueue(platform, chat_id, payload, key, self.now, about, lane=lane)

    async def _held(
        self, platform: str, chat_id: str, payload: dict[str, Any], key: str, about: Sequence[str], lane: Lane
    ) -> bool:
        """A notification the chat's window does not let through now: it waits for the window's slot, folded into
        the row already waiting for it (a thank-you) or as a row of its own marked as one that may merge. False
        when it may go at once, as written (bot/core/notifications.py)."""
        merge, window = payload["merge"], self.window
        slot, waiting = await self.tx.notification_slot(
            platform, chat_id, merge["kind"], self.now, window.span, window.burst
        )
        if slot <= self.now:
            return False
        if merge["kind"] in FOLDED and waiting is not None and await self.tx.fold_notification(waiting, merge, about):
            return True
        payload["merge"] = {**merge, "waited": True}
        if await self.tx.enqueue(platform, chat_id, payload, key, self.now, about, lane=lane):
            await self.tx.hold_notification(platform, chat_id, merge["kind"], key, slot)
        return True


class Units:
    """The shared machinery every domain service uses to apply an inbound event exactly once."""

    def __init__(
        self,
        store: Store,
        program: Program,
        screens: Texts,
        clock: Clock,
        wake: Callable[[], None],
        webhooks: Webhooks,
        alerts: Alerts | None = None,
    ) -> None:
        self.alerts = alerts  # None when no Slack team is set up
        self.webhooks = webhooks  # the wiring sets the receivers
        self.hours = program.business_hours.calendar()
        self.store = store
        self.program = program
        self.screens = screens
        self.clock = clock
        self._wake = wake
        self.elsewhere: Elsewhere | None = None  # set by the services that write e-mail
        self.mail_enabled = False  # the wiring turns it on when SMTP_URL is set
        self.notification_window = NotificationWindow()  # NOTIFICATION_WINDOW_SECONDS, NOTIFICATION_BURST
        self.advocate_link_days = 30  # ADVOCATE_LINK_DAYS: how long an e-mailed advocate's personal link works

    @asynccontextmanager
    async def once(self, inbound_id: str, bulk: bool = False) -> AsyncIterator[Work | None]:
        """One inbound event's unit of work: `async with units.once(inbound_id) as w:` gives a `Work`, or None for
        a replay, which must then do nothing. A normal exit (a `return` too) commits, an exception rolls back, and
        the dispatcher is woken only once the work is committed, so it never looks for rows not yet visible.
        `bulk` for a sweep's or an operator command's work: its messages wait behind people's (bot/core/lanes.py)."""
        applied = False
        async with self.store.transaction() as tx:
            now = self.clock.now()
            if not await tx.claim_inbound(inbound_id, now):
                log.info("replayed inbound %s ignored", inbound_id)
                yield None
            else:
                yield Work(
                    tx, now, inbound_id, elsewhere=self.elsewhere, window=self.notification_window,
                    actor=current_actor(), bulk=bulk,
                )  # fmt: skip
                applied = True  # not reached when the body raised: the transaction rolls back instead
        if applied:
            self._wake()

    async def customer(self, work: Work, user: ChatUser, segment: Segment | None = None) -> Customer:
        """The customer behind a chat user, registered on first contact (in the program's default segment)."""
        existing = await work.tx.customer(user.id)
        if existing is not None and existing.unreachable_at is not None:
            # They wrote to us, so they can be reached again (they unblocked the bot).
            await work.tx.update_customer(user.id, unreachable_at=None, updated_at=work.now)
        if existing is not None:
            return existing
        return await self.register(work, user, segment or Segment(self.program.segments.default), referred_by=None)

    async def register(self, work: Work, user: ChatUser, segment: Segment, referred_by: int | None) -> Customer:
        customer = Customer(
            telegram_id=user.id,
            first_name=profile_text(user.first_name, 64) or "",
            last_name=profile_text(user.last_name, 64),
            username=profile_text(user.username, 32),
            language=normalize_locale(user.language_code, self.program.program.default_locale),
            segment=segment.value,
            referral_code=new_code(),
            variant=self.program.variant_for(user.id),  # kept for good, whatever changes later
            referred_by=referred_by,
            created_at=work.now,
            updated_at=work.now,
        )
        await work.tx.insert_customer(customer)
        await work.tx.log_event("customer.registered", work.now, actor=f"tg:{user.id}", segment=segment.value)
        return customer
