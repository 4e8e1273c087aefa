"""PTB callbacks: each turns one update into one domain call. Nothing here sends a message;
replies leave through the outbox, except the answers Telegram wants in-band (callback and
inline query answers)."""

from __future__ import annotations

import logging
from typing import assert_never

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResult,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.core import buttons
from bot.core.models import ChatUser
from bot.core.validation import storable
from bot.customers.forget import Forgetting
from bot.customers.kit import KitService
from bot.customers.services import CustomerServices
from handlers.telegram.kit_results import kit_result

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE


def chat_user(update: Update) -> ChatUser:
    user = update.effective_user
    assert user is not None  # every routed update type has a sender
    last, username = user.last_name, user.username
    return ChatUser(
        user.id,
        storable(user.first_name),
        storable(last) if last else None,
        storable(username) if username else None,
        user.language_code,
    )


def text_of(update: Update) -> str:
    """What a person typed, as typed: checks downstream refuse what cannot be kept."""
    message = update.effective_message
    return (message.text or "") if message is not None else ""


def inbound_id(update: Update) -> str:
    return f"tg:{update.update_id}"


class Routes:
    def __init__(self, services: CustomerServices) -> None:
        self._s = services
        self._forget = Forgetting(services.units)
        self._kit = KitService(services.units)

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        private = filters.ChatType.PRIVATE
        commands = {
            "start": self.start,
            "help": self.simple,
            "language": self.simple,
            "stop": self.simple,
            "privacy": self.simple,
            "hidename": self.simple,
            "showname": self.simple,
            "forget": self.simple,
            "refer": self.simple,
            "cancel": self.simple,
            "referrals": self.simple,
            "kit": self.simple,
            "feedback": self.simple,
            "survey": self.simple,
        }
        for name, callback in commands.items():
            app.add_handler(CommandHandler(name, callback, filters=private))
        app.add_handler(MessageHandler(filters.CONTACT & private, self.contact))
        app.add_handler(MessageHandler(filters.COMMAND & private, self.unknown_command))
        app.add_handler(MessageHandler(filters.TEXT & private, self.text))
        app.add_handler(CallbackQueryHandler(self.button))
        app.add_handler(InlineQueryHandler(self.inline_query))
        app.add_handler(ChosenInlineResultHandler(self.chosen_inline))

    async def start(self, update: Update, context: Context) -> None:
        payload = text_of(update).partition(" ")[2] or None
        await self._s.referrals.start(inbound_id(update), chat_user(update), payload)

    async def simple(self, update: Update, context: Context) -> None:
        command = text_of(update).split()[0].lstrip("/").split("@")[0].lower()
        uid, user, s = inbound_id(update), chat_user(update), self._s
        handlers = {
            "help": lambda: s.preferences.help(uid, user),
            "language": lambda: s.preferences.language_menu(uid, user),
            "stop": lambda: s.preferences.opt_out(uid, user, out=True),
            "privacy": lambda: s.preferences.privacy(uid, user),
            "hidename": lambda: s.preferences.name_on_page(uid, user, hidden=True),
            "showname": lambda: s.preferences.name_on_page(uid, user, hidden=False),
            "forget": lambda: self._forget.ask(uid, user),
            "refer": lambda: s.direct.begin(uid, user),
            "cancel": lambda: s.direct.cancel(uid, user),
            "referrals": lambda: s.referrals.my_referrals(uid, user),
            "kit": lambda: self._kit.show(uid, user),
            "feedback": lambda: s.nps.ask(uid, user),
            "survey": lambda: s.survey.begin(uid, user),
        }
        await handlers[command]()

    async def unknown_command(self, update: Update, context: Context) -> None:
        await self._s.preferences.unknown_command(inbound_id(update), chat_user(update))

    async def text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        uid, user = inbound_id(update), chat_user(update)
        if await self._s.nps.expects_text(user):  # an NPS comment or a survey answer
            await self._s.nps.text(uid, user, text_of(update))
        else:
            await self._s.direct.answer(uid, user, text_of(update))

    async def contact(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is not None and message.contact is not None:
            contact = message.contact
            await self._s.referrals.contact_shared(
                inbound_id(update), chat_user(update), contact.phone_number, contact.user_id
            )

    async def button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None or not isinstance(query.data, str):
            return
        await self._pressed(inbound_id(update), chat_user(update), buttons.parse(query.data))
        try:
            await query.answer()
        except BadRequest:
            log.info("callback %s answered too late (a redelivered update)", query.id)

    async def _pressed(self, uid: str, user: ChatUser, data: buttons.ButtonData | None) -> None:
        s = self._s
        match data:
            case buttons.ShowQr() | buttons.ShowWebQr():
                await s.referrals.qr(uid, user, web=isinstance(data, buttons.ShowWebQr))
            case buttons.MyReferrals():
                await s.referrals.my_referrals(uid, user)
            case buttons.ShowKit():
                await self._kit.show(uid, user)
            case buttons.ReferFriend():
                await s.direct.begin(uid, user)
            case buttons.ResumeAsks() | buttons.AskStop():
                await s.preferences.opt_out(uid, user, out=isinstance(data, buttons.AskStop))
            case buttons.AskLater():
                await s.asks.later(uid, user)
            case buttons.Language(code):
                await s.preferences.set_language(uid, user, code)
            case buttons.NpsScore() | buttons.NpsSkip():
                await s.nps.button(uid, user, data)
            case buttons.SurveySkip():
                await s.survey.skip(uid, user)
            case buttons.DirectChoice(choice):
                await s.direct.button(uid, user, choice)
            case buttons.ForgetChoice(choice):
                await self._forget.answer(uid, user, choice)
            case buttons.FriendConsent(choice):
                await s.referrals.friend_consent(uid, user, choice)
            case None:
                await s.preferences.unknown_button(uid, user)
            case _:
                assert_never(data)

    async def inline_query(self, update: Update, context: Context) -> None:
        query = update.inline_query
        if query is None:
            return
        user = chat_user(update)
        results = await self._inline_results(query.query, user)
        if results is None:
            # Not a customer yet: offer to start the bot, which registers them and makes their link.
            button = InlineQueryResultsButton(text=self._s.referrals.start_prompt(user), start_parameter="inline")
            await self._answer_inline(query, [], button)
            return
        await self._answer_inline(query, results)

    async def _inline_results(self, text: str, user: ChatUser) -> list[InlineQueryResult] | None:
        """A kit item's share button types "kit <n>": that item's card; anything else gets the invite card. Both
        carry the customer's own link; None for someone who has none yet."""
        if self._kit.is_kit_query(text):
            cards = await self._kit.cards(user, text)
            return None if cards is None else [kit_result(card) for card in cards]
        card = await self._s.referrals.invite_card(user)
        if card is None:
            return None
        result = InlineQueryResultArticle(
            id=card.result_id,
            title=card.title,
            description=card.description,
            input_message_content=InputTextMessageContent(card.text, parse_mode=ParseMode.HTML),
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(card.button_text, url=card.url)]]),
        )
        return [result]

    @staticmethod
    async def _answer_inline(
        query: InlineQuery, results: list[InlineQueryResult], button: InlineQueryResultsButton | None = None
    ) -> None:
        try:
            await query.answer(results, cache_time=0, is_personal=True, button=button)
        except BadRequest as error:  # too old: the person typed on, and their newer query is answered instead
            log.info("inline query %s not answered: %s", query.id, error.message)

    async def chosen_inline(self, update: Update, context: Context) -> None:
        chosen = update.chosen_inline_result
        if chosen is not None and self._kit.is_kit_result(chosen.result_id):
            await self._kit.shared(inbound_id(update), chat_user(update), chosen.result_id)
        elif chosen is not None:
            await self._s.referrals.shared_inline(inbound_id(update), chat_user(update), chosen.result_id)
