"""The actions the page can ask for, each taken by a person through an emulator (or by the clock), as JSON in and
out: `{"do": "tg_text", "person": 1001, "text": "/start"}` -> `{"note": ...}`, `{"errors": ...}` or `{"error": ...}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.app.playground.cast import JSONDict, Refused
from bot.app.playground.slack_side import SlackSide
from bot.app.playground.telegram_side import TelegramSide
from bot.core.clock import FakeClock

MAX_MINUTES = 31 * 24 * 60
Action = Callable[[JSONDict], Awaitable[JSONDict]]


class Actions:
    def __init__(self, telegram: TelegramSide, slack: SlackSide, clock: FakeClock) -> None:
        self.telegram, self.slack, self.clock = telegram, slack, clock
        self._table: dict[str, Action] = {
            "tg_text": self._tg_text, "tg_contact": self._tg_contact, "tg_button": self._tg_button,
            "tg_link": self._tg_link, "tg_share": self._tg_share, "tg_choose": self._tg_choose,
            "tg_dismiss": self._tg_dismiss, "tg_share_page": self._tg_share_page, "tg_new_friend": self._tg_new_friend,
            "slack_click": self._slack_click, "slack_submit": self._slack_submit, "slack_close": self._slack_close,
            "slack_command": self._slack_command, "slack_home": self._slack_home, "advance": self._advance,
        }  # fmt: skip

    async def perform(self, action: JSONDict) -> JSONDict:
        """Take the action; what went wrong is told to the visitor in words (an emulator's refusal included)."""
        handler = self._table.get(str(action.get("do")))
        if handler is None:
            return {"error": f"unknown action {action.get('do')!r}"}
        try:
            return await handler(action)
        except Refused as refused:
            return {"error": str(refused)}
        except AssertionError as refused:  # the emulators refuse what a person could not do in the app
            return {"error": str(refused).splitlines()[0] if str(refused) else "that cannot be done here"}

    async def _tg_text(self, action: JSONDict) -> JSONDict:
        person = self.telegram.person(action.get("person"))
        return {"note": await self.telegram.send_text(person, _text(action, "text"))}

    async def _tg_contact(self, action: JSONDict) -> JSONDict:
        return {"note": await self.telegram.share_contact(self.telegram.person(action.get("person")))}

    async def _tg_button(self, action: JSONDict) -> JSONDict:
        person = self.telegram.person(action.get("person"))
        return {"note": await self.telegram.press(person, action.get("message"), _text(action, "data"))}

    async def _tg_link(self, action: JSONDict) -> JSONDict:
        person = self.telegram.person(action.get("person"))
        return {"note": await self.telegram.open_link(person, _text(action, "payload"))}

    async def _tg_share(self, action: JSONDict) -> JSONDict:
        person = self.telegram.person(action.get("person"))
        return {"note": await self.telegram.ask_for_cards(person, _text(action, "query"))}

    async def _tg_choose(self, action: JSONDict) -> JSONDict:
        person = self.telegram.person(action.get("person"))
        return {"note": await self.telegram.choose_card(person, action.get("result"))}

    async def _tg_dismiss(self, action: JSONDict) -> JSONDict:
        return {"note": self.telegram.dismiss_cards(self.telegram.person(action.get("person")))}

    async def _tg_share_page(self, action: JSONDict) -> JSONDict:
        person = self.telegram.person(action.get("person"))
        return {"note": self.telegram.share_page(person, _text(action, "url"))}

    async def _tg_new_friend(self, action: JSONDict) -> JSONDict:
        person = self.telegram.new_friend()
        return {"note": f"You are now {person.user.first_name}, a new friend", "person": person.user.id}

    async def _slack_click(self, action: JSONDict) -> JSONDict:
        user = self.slack.user(action.get("user"))
        return {"note": await self.slack.click(user, action.get("ts"), action.get("action"))}

    async def _slack_submit(self, action: JSONDict) -> JSONDict:
        user = self.slack.user(action.get("user"))
        return await self.slack.submit(user, action.get("view"), action.get("values"))

    async def _slack_close(self, action: JSONDict) -> JSONDict:
        return {"note": self.slack.close(self.slack.user(action.get("user")), action.get("view"))}

    async def _slack_command(self, action: JSONDict) -> JSONDict:
        user = self.slack.user(action.get("user"))
        return {"note": await self.slack.command(user, _text(action, "text"), action.get("where") != "dm")}

    async def _slack_home(self, action: JSONDict) -> JSONDict:
        return {"note": await self.slack.open_home(self.slack.user(action.get("user")))}

    async def _advance(self, action: JSONDict) -> JSONDict:
        """The pretend clock moves on; the bot's timers, which read it every second, see the time has come."""
        minutes = action.get("minutes")
        if not isinstance(minutes, int) or not 0 < minutes <= MAX_MINUTES:
            raise Refused("the clock moves forward by 1 minute to 31 days")
        self.clock.advance(timedelta(minutes=minutes))
        return {"note": ""}


def _text(action: JSONDict, key: str) -> str:
    value: Any = action.get(key)
    if not isinstance(value, str):
        raise Refused(f"the action needs {key!r} as text")
    return value
