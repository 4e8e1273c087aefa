"""A customer's own settings: help, language, opting out of asks, whether their web page shows their first name,
and what we store about them."""

from __future__ import annotations

from bot.core.buttons import ResumeAsks
from bot.core.models import ChatUser
from bot.core.unit_of_work import Units
from messages import LOCALES


class Preferences:
    def __init__(self, units: Units) -> None:
        self._units = units
        self._screens = units.screens

    async def help(self, inbound_id: str, user: ChatUser) -> bool:
        return await self._reply(inbound_id, user, "help")

    async def slow_down(self, inbound_id: str, user: ChatUser) -> bool:
        return await self._reply(inbound_id, user, "slow_down")

    async def unknown_command(self, inbound_id: str, user: ChatUser) -> bool:
        return await self._reply(inbound_id, user, "unknown_command")

    async def unknown_button(self, inbound_id: str, user: ChatUser) -> bool:
        """A press whose data this version does not send: say so rather than leave the tap unanswered."""
        return await self._reply(inbound_id, user, "button_expired")

    async def _reply(self, inbound_id: str, user: ChatUser, template: str) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.send(self._screens.to(customer, template))
        return True

    async def language_menu(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            await w.send(self._screens.language_menu(await self._units.customer(w, user)))
        return True

    async def set_language(self, inbound_id: str, user: ChatUser, locale: str) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            chosen = locale if locale in LOCALES else customer.language
            await w.tx.update_customer(user.id, language=chosen, updated_at=w.now)
            await w.tx.log_event("customer.language", w.now, actor=f"tg:{user.id}", language=chosen)
            await w.send(self._screens.text(customer, user.id, chosen, "language_set"))
        return True

    async def opt_out(self, inbound_id: str, user: ChatUser, out: bool) -> bool:
        """/stop ends referral asks (never the replies a person asks for); Resume undoes it."""

        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.tx.update_customer(
                user.id, asks_opted_out=out, opted_out_at=w.now if out else None, updated_at=w.now
            )
            await w.tx.log_event("customer.opt_out" if out else "customer.opt_in", w.now, actor=f"tg:{user.id}")
            screens, locale = self._screens, customer.language
            if out:
                message = screens.to(customer, "stopped")
                await w.send(screens.with_buttons(message, (screens.label(locale, "resume"), ResumeAsks())))
            else:
                await w.send(screens.to(customer, "resumed"))
        return True

    async def privacy(self, inbound_id: str, user: ChatUser) -> bool:
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            referrals = await w.tx.referrals_by(user.id)
            as_friend = await w.tx.referral_for_friend(user.id)
            rewards = await w.tx.rewards_for(user.id)
            await w.send(
                self._screens.text(
                    customer,
                    user.id,
                    customer.language,
                    "privacy",
                    referral_count=len(referrals),
                    referred=as_friend is not None,
                    reward_count=len(rewards),
                    counts=await w.tx.privacy_counts(user.id),
                    segment=self._screens.label(customer.language, f"segment_{customer.segment}"),
                    web_page=self._screens.links.web(customer.referral_code) is not None,
                )
            )
        return True

    async def name_on_page(self, inbound_id: str, user: ChatUser, hidden: bool) -> bool:
        """/hidename and /showname: whether their web page (and the e-mail a friend who leaves their details there
        gets) shows their first name."""
        async with self._units.once(inbound_id) as w:
            if w is None:
                return False
            customer = await self._units.customer(w, user)
            await w.tx.update_customer(user.id, name_hidden=hidden, updated_at=w.now)
            await w.tx.log_event(
                "customer.name_hidden" if hidden else "customer.name_shown", w.now, actor=f"tg:{user.id}"
            )
            await w.send(self._screens.to(customer, "name_hidden" if hidden else "name_shown"))
        return True
