"""E-mail from the domain. Like every message it is an outbox row written with the change that caused it; the
sender in handlers/email delivers it. Nothing goes to an address that unsubscribed, and every mail carries its
address's own unsubscribe link (the page and the List-Unsubscribe header)."""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.core.models import Customer, Outgoing
from bot.core.subjects import person
from bot.core.unit_of_work import Units, Work
from storage.base import Transaction

log = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]+>")


def plain(telegram_html: str) -> str:
    """A Telegram HTML message as plain text: its tags dropped, its entities read."""
    return html.unescape(_TAG.sub("", telegram_html))


class Mailer:
    def __init__(self, units: Units) -> None:
        self._units = units

    @property
    def enabled(self) -> bool:
        return self._units.mail_enabled

    async def send(
        self,
        w: Work,
        address: str,
        locale: str,
        name: str,
        about: Sequence[str] = (),
        key: str | None = None,
        **context: Any,
    ) -> bool:
        """Queue template `name` (messages/<locale>/email/) to `address`; False when e-mail is off or the address
        unsubscribed."""
        if not self.enabled:
            return False
        token, stopped = await w.tx.email_token(address, w.now)
        if stopped is not None:
            log.info("e-mail %s to an unsubscribed address not sent", name)
            return False
        unsubscribe = self._units.screens.links.unsubscribe(token)
        subject, body, text = self._units.screens.email(locale, name, unsubscribe_url=unsubscribe, **context)
        payload = {"subject": subject, "html": body, "text": text, "unsubscribe_url": unsubscribe, "locale": locale}
        await w.post("email", address, payload, key=key, about=about)
        return True

    async def notice(self, w: Work, message: Outgoing, about: Sequence[str]) -> None:
        """A message for a customer not on Telegram yet: the same words by e-mail, with a link that brings them to
        the bot; nothing when they have no address (or e-mail is off)."""
        customer = await w.tx.customer(message.chat_id)
        if customer is None or customer.email is None:
            log.info("a message to %s, who is not on Telegram and has no e-mail address, was not sent", message.chat_id)
            return
        links = [button.value for row in message.buttons for button in row if button.kind in ("url", "copy")]
        await self.send(
            w,
            customer.email,
            customer.language,
            "notice",
            about,
            customer=customer,
            message_html=message.text,
            message_text=plain(message.text),
            links=links,
        )


def token_hash(token: str) -> str:
    """Only this is stored of an advocate's personal link: a copy of the database cannot bind anyone's account."""
    return hashlib.sha256(token.encode()).hexdigest()


def by_email(customer: Customer) -> bool:
    """Whether a customer is written to by e-mail: not on Telegram yet, or Telegram refused us and they have an
    address (an advocate imported with their Telegram id who never started the bot)."""
    return customer.email is not None and (not customer.on_telegram or customer.unreachable_at is not None)


async def mail_possible(tx: Transaction, units: Units, customer: Customer) -> bool:
    """E-mail is set up and the customer's address did not unsubscribe."""
    if not units.mail_enabled or customer.email is None:
        return False
    return await tx.email_stopped(customer.email) is None


async def ask_by_email(w: Work, units: Units, customer: Customer, key: str, pitch: str | None) -> bool:
    """The referral request by e-mail: a personal link that binds their Telegram account (once, until it expires),
    and their web link for friends without Telegram."""
    assert customer.email is not None
    token = secrets.token_urlsafe(16)
    expires = w.now + timedelta(days=units.advocate_link_days)
    await w.tx.insert_invite(token_hash(token), customer.telegram_id, w.now, expires)
    links = units.screens.links
    rule = units.program.incentives
    return await Mailer(units).send(
        w,
        customer.email,
        customer.language,
        "advocate_ask",
        about=[person(customer.telegram_id)],
        key=key,
        customer=customer,
        pitch=pitch,
        telegram_url=links.advocate(token),
        expires_on=expires.date().isoformat(),
        web_link=links.web(customer.referral_code),
        friend_incentive=rule.for_side(customer.segment, "friend").get(customer.language),
        referrer_reward=rule.for_side(customer.segment, "referrer").get(customer.language),
    )


class EmailPreferences:
    """What the unsubscribe page does."""

    def __init__(self, units: Units) -> None:
        self._units = units

    async def unsubscribe(self, token: str) -> str | None:
        """Unsubscribe the address the token belongs to; the address, or None for a token we never gave. Again is
        harmless: the first moment is kept."""
        now = self._units.clock.now()
        async with self._units.store.transaction() as tx:
            address = await tx.unsubscribe_email(token[:64], now)
            if address is not None:
                await tx.log_event("email.unsubscribed", now, actor="web")
        return address
