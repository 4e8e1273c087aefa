"""Imported advocates' personal links. A business rarely knows its advocates' Telegram ids, and a bot cannot write
to someone who never started it, so an advocate imported with an e-mail address is asked by e-mail, with a link
(t.me/<bot>?start=adv_<token>) that works once and expires. Opening it binds their Telegram account to the imported
record: its segment, name, referral code and anything already credited to it."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.codes import new_code
from bot.core.links import ADVOCATE_PREFIX
from bot.core.models import ChatUser, Customer
from bot.core.unit_of_work import Units, Work
from bot.core.validation import profile_text
from bot.delivery.mail import token_hash

log = logging.getLogger(__name__)
_TOKEN_MAX = 64 - len(ADVOCATE_PREFIX)  # a deep-link payload has 64 characters at most


class AdvocateLinks:
    def __init__(self, units: Units) -> None:
        self._units = units

    @staticmethod
    def carries(payload: str) -> bool:
        return payload.startswith(ADVOCATE_PREFIX)

    async def open(self, w: Work, user: ChatUser, payload: str) -> Customer | None:
        """Bind `user` to the record the link was made for; None when the link is unknown, spent or expired (the
        caller then welcomes them as anyone who opened the bot)."""
        token = payload.removeprefix(ADVOCATE_PREFIX)
        invite = await w.tx.invite(token_hash(token)) if 0 < len(token) <= _TOKEN_MAX else None
        record = await w.tx.customer(int(invite["customer_id"])) if invite is not None else None
        if invite is None or record is None:
            await w.tx.log_event("advocate.link_unknown", w.now, actor=f"tg:{user.id}")
            return None
        if invite["used_at"] is not None or invite["expires_at"] <= w.now:
            if invite["used_by"] == user.id:  # their own link, opened again
                return await w.tx.customer(user.id)
            await w.tx.log_event("advocate.link_spent", w.now, actor=f"tg:{user.id}", subject=str(record.telegram_id))
            return None
        if not await w.tx.use_invite(token_hash(token), user.id, w.now):
            return None
        bound = await self._bind(w, user, record)
        await w.tx.log_event(
            "advocate.bound", w.now, actor=f"tg:{user.id}", subject=str(record.telegram_id), segment=bound.segment
        )
        return bound

    async def _bind(self, w: Work, user: ChatUser, record: Customer) -> Customer:
        if record.telegram_id == user.id:  # imported with this Telegram id: they can be reached now
            await w.tx.update_customer(user.id, unreachable_at=None, updated_at=w.now)
            return replace(record, unreachable_at=None)
        known = await w.tx.customer(user.id)
        if known is None:
            # Their new row takes the record's code once the record is gone: the web link they were sent still works.
            bound = replace(
                record,
                telegram_id=user.id,
                username=profile_text(user.username, 32),
                referral_code=new_code(),
                email=None,
                unreachable_at=None,
                updated_at=w.now,
            )
            await w.tx.insert_customer(bound)
        else:  # someone who used the bot already: they keep their code, and take the imported segment
            bound = replace(known, segment=record.segment, updated_at=w.now)
        await w.tx.move_customer(record.telegram_id, user.id)
        code = record.referral_code if known is None else bound.referral_code
        email = (known.email if known is not None else None) or record.email
        await w.tx.update_customer(user.id, referral_code=code, email=email, segment=bound.segment, updated_at=w.now)
        return replace(bound, referral_code=code, email=email)
