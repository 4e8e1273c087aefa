"""The messages a customer sees, built from templates and the program's own words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.core.buttons import (
    ButtonData,
    Language,
    MyReferrals,
    ReferFriend,
    ShowKit,
    ShowQr,
    ShowWebQr,
    callback_button,
)
from bot.core.links import Links
from bot.core.models import Button, Customer, Outgoing, Referral, Reward
from bot.program.ab_copy import invite_pitch
from bot.program.rules import Program
from messages import LOCALES, Renderer, numbers


@dataclass(frozen=True)
class InviteCard:
    """What the inline share offers: a card the customer drops into any chat."""

    result_id: str
    title: str
    description: str
    text: str
    button_text: str
    url: str


class Texts:
    def __init__(self, renderer: Renderer, program: Program, links: Links, team_locale: str = "en") -> None:
        self._render = renderer
        self._program = program
        self._links = links
        self._team_locale = team_locale if team_locale in LOCALES else "en"

    @property
    def team_locale(self) -> str:
        """The team side's language (TEAM_LOCALE): channel posts, and anyone whose own language is not known."""
        return self._team_locale

    def read_by(self, locale: str | None) -> Texts:
        """The same texts with the team side in `locale` (None: the team's): for a card made for one reader, such as
        routing's DM card, drawn by code that draws it for the channel too."""
        if not locale or locale == self._team_locale:
            return self
        return Texts(self._render, self._program, self._links, locale)

    @property
    def program(self) -> Program:
        return self._program

    @property
    def links(self) -> Links:
        return self._links

    @property
    def renderer(self) -> Renderer:
        return self._render

    def _common(self, locale: str) -> dict[str, Any]:
        program = self._program
        return {
            "program": program.program.name,
            "ideal_customer": program.ideal_customer.get(locale),
            "friend_incentive": program.incentives.friend.get(locale),
            "referrer_reward": program.incentives.referrer.get(locale),
            "has_kit": bool(program.kit),  # /help lists /kit only when there is a kit
        }

    def text(self, customer: Customer | None, chat_id: int, locale: str, name: str, **context: Any) -> Outgoing:
        """A plain message from template `name`."""
        # The context may override the program's general words, e.g. with the reward a segment actually earns.
        body = self._render.telegram(locale, name, customer=customer, **{**self._common(locale), **context})
        return Outgoing(chat_id=chat_id, text=body)

    def to(self, customer: Customer, name: str, **context: Any) -> Outgoing:
        """A plain message from template `name` to a customer, in their language."""
        return self.text(customer, customer.telegram_id, customer.language, name, **context)

    def team(self, name: str, locale: str | None = None, **context: Any) -> str:
        """Slack text for the team, with the program's own words at hand: in `locale` (a reader's own, for a DM or an
        ephemeral answer), else in the team's (a channel post)."""
        locale = locale or self._team_locale
        return self._render.slack(name, locale, **self._common(locale), **context)

    def team_first(self, names: Sequence[str], locale: str | None = None, **context: Any) -> str:
        """Slack text from the first of `names` there is a template for (the business's own first)."""
        locale = locale or self._team_locale
        return self._render.slack_first(names, locale, **{**self._common(locale), **context})

    def team_label(self, key: str, locale: str | None = None, **context: Any) -> str:
        """A short label on the team side (a Slack button, a source's name), in `locale` or the team's."""
        return self._render.label(locale or self._team_locale, key, **context)

    def label(self, locale: str, key: str, **context: Any) -> str:
        return self._render.label(locale, key, **context)

    def email(self, locale: str, name: str, **context: Any) -> tuple[str, str, str]:
        """An e-mail's subject (labels.toml's email_subject_<name>), HTML part and text part."""
        context = {**self._common(locale), **context}
        subject = self.label(locale, f"email_subject_{name}", **context)
        html, text = self._render.email(locale, name, **context)
        return subject, html, text

    def page(self, locale: str, key: str, **context: Any) -> str:
        """One of the landing page's words (landing.toml), with the program's own at hand."""
        return self._render.string(locale, "landing", key, **{**self._common(locale), **context})

    def money(self, amount: Decimal | None, locale: str | None = None) -> str | None:
        """A deal value as the team reads it, in the program's currency: "1,200.00 EUR", "1.200,00 EUR" in Spanish;
        in `locale` (a reader's own), else the team's."""
        if amount is None:
            return None
        return numbers.money(amount, self._program.program.currency, locale or self._team_locale)

    def figure(self, value: float | Decimal, locale: str | None = None, places: int = 0, group: bool = True) -> str:
        """A number as the team reads it ("1,234.5", "1.234,5", "۱٬۲۳۴٫۵"), for words put together outside a
        template (a label's figures); in `locale`, else the team's."""
        return numbers.number(value, locale or self._team_locale, places, group=group)

    def welcome(self, customer: Customer, returning: bool = False) -> Outgoing:
        locale, code = customer.language, customer.referral_code
        link = self._links.personal(code)
        pitch = invite_pitch(self._program.variants, customer.variant, locale)  # A/B copy, when the variant has it
        body = self._render.telegram(
            locale,
            "welcome",
            customer=customer,
            link=link,
            web_link=self._links.web(code),
            returning=returning,
            pitch=pitch,
            **self._common(locale),
        )
        share_text = pitch or self._render.label(locale, "share_text", program=self._program.program.name)
        rows = (
            (Button(self.label(locale, "share_in_chat"), "share_chat", ""),),
            (
                Button(self.label(locale, "share_page"), "url", self._links.share_page(code, share_text)),
                Button(self.label(locale, "copy_link"), "copy", self._links.personal(code, "copied")),
            ),
            (
                callback_button(self.label(locale, "qr_code"), ShowQr()),
                callback_button(self.label(locale, "refer_friend"), ReferFriend()),
            ),
            (callback_button(self.label(locale, "my_referrals"), MyReferrals()), *self._kit_button(locale)),
            *self._web_buttons(locale, code),
        )
        return Outgoing(customer.telegram_id, body, rows)

    def _web_buttons(self, locale: str, code: str) -> tuple[tuple[Button, ...], ...]:
        """The web link (the landing page, for friends without Telegram) and its QR code, when there is one."""
        web = self._links.web(code)
        if web is None:
            return ()
        return (
            (
                Button(self.label(locale, "web_link"), "url", web),
                callback_button(self.label(locale, "web_qr"), ShowWebQr()),
            ),
        )

    def _kit_button(self, locale: str) -> tuple[Button, ...]:
        """The referral kit's button, when the program has a kit to show."""
        return (callback_button(self.label(locale, "kit"), ShowKit()),) if self._program.kit else ()

    def qr(self, customer: Customer, web: bool = False) -> Outgoing:
        """A QR code of the customer's deep link, or of their web link when `web` (and the business has one)."""
        link = (web and self._links.web(customer.referral_code)) or self._links.personal(customer.referral_code, "qr")
        locale = customer.language
        caption = self._render.telegram(locale, "qr_caption", link=link, web=web, **self._common(locale))
        return Outgoing(customer.telegram_id, caption, photo_of=link)

    def friend_welcome(self, friend: Customer, referrer: Customer) -> Outgoing:
        locale = friend.language
        body = self._render.telegram(locale, "friend_welcome", friend=friend, referrer=referrer, **self._common(locale))
        button = Button(self.label(locale, "share_phone"), "contact")
        return Outgoing(friend.telegram_id, body, ((button,),), keyboard="reply")

    def invite_card(self, customer: Customer) -> InviteCard:
        locale = customer.language
        link = self._links.personal(customer.referral_code, "inline")
        return InviteCard(
            result_id=f"invite-{customer.variant}",
            title=self.label(locale, "invite_title", program=self._program.program.name),
            description=self._program.incentives.friend.get(locale),
            text=self._render.telegram(
                locale,
                "invite_card",
                customer=customer,
                web_link=self._links.web(customer.referral_code),
                pitch=invite_pitch(self._program.variants, customer.variant, locale),
                **self._common(locale),
            ),
            button_text=self.label(locale, "invite_button", program=self._program.program.name),
            url=link,
        )

    def my_referrals(self, customer: Customer, referrals: Sequence[Referral], rewards: Sequence[Reward]) -> Outgoing:
        locale = customer.language
        statuses = {r.id: self.label(locale, f"status_{r.status}") for r in referrals}
        reward_states = {
            r.id: self.label(locale, "reward_sent" if r.fulfilled_at else f"reward_{r.status}") for r in rewards
        }
        conversions = sum(1 for r in referrals if r.status == "converted")
        ladder = self._program.incentives.tiers_for(customer.segment)  # their segment's own, or the program's
        next_tier = next((t for t in ladder if t.conversions > conversions), None)
        body = self._render.telegram(
            locale,
            "my_referrals",
            customer=customer,
            referrals=referrals,
            rewards=rewards,
            statuses=statuses,
            reward_states=reward_states,
            conversions=conversions,
            next_tier=next_tier,
            next_tier_name=next_tier.name.get(locale) if next_tier else None,
            **self._common(locale),
        )
        return Outgoing(customer.telegram_id, body)

    def language_menu(self, customer: Customer) -> Outgoing:
        body = self._render.telegram(customer.language, "language_menu", **self._common(customer.language))
        row = tuple(callback_button(self.label(code, "language_name"), Language(code)) for code in LOCALES)
        return Outgoing(customer.telegram_id, body, (row,))

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """The bot's command list with descriptions, per locale, for Telegram's menu button."""
        kit = ("kit",) if self._program.kit else ()  # offered only when the program has something in its kit
        names = ("start", "refer", "referrals", *kit, "feedback", "survey", "language", "stop", "privacy")
        names += ("forget", "help")
        return {locale: [(name, self.label(locale, f"command_{name}")) for name in names] for locale in LOCALES}

    def with_buttons(self, message: Outgoing, *buttons: tuple[str, ButtonData]) -> Outgoing:
        """The same message with one row of callback buttons (label, what the button does)."""
        row = tuple(callback_button(label, data) for label, data in buttons)
        return Outgoing(message.chat_id, message.text, (*message.buttons, row), message.keyboard)

    def remove_keyboard(self, message: Outgoing) -> Outgoing:
        return Outgoing(message.chat_id, message.text, (), "remove")
