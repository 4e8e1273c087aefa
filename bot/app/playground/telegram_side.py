"""What a visitor does as a Telegram user, through the emulator's person API, so each update reaches the bot over
HTTP as Telegram's would; and what the playground remembers beyond the bot's chats (cards shared with friends)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.app.playground.cast import JSONDict, Person, Refused, first_people, new_friend, phone_of
from sandbox.telegram_api import TelegramEmulator
from sandbox.telegram_entities import message_text
from sandbox.telegram_people import SentMessage

CALLBACK_WAIT = 3.0  # seconds: how long a tap waits for the bot's answer (a toast) before the page moves on


@dataclass(frozen=True)
class Card:
    """Something a person shared into a chat with friends: an invite card, or a link through the share page.
    Friends are not modelled one by one: everyone else in the playground has received it."""

    sharer: int
    text: str
    entities: list[JSONDict]
    markup: JSONDict | None
    photo: str | None  # the file id of a shared photo (a QR code card)
    anchors: dict[int, int]  # each person's last message id when it was shared: where it shows in their chat


def is_share_page(url: str) -> bool:
    parts = urlsplit(url)
    return parts.netloc.lower() in ("t.me", "telegram.me") and parts.path.rstrip("/") == "/share/url"


class TelegramSide:
    def __init__(self, tg: TelegramEmulator) -> None:
        self.tg = tg
        self.people: dict[int, Person] = {}
        self.sent: dict[int, list[int]] = {}  # update ids of what each person sent the bot
        self.cards: list[Card] = []
        self.offered: dict[int, tuple[str, list[JSONDict]]] = {}  # inline results on screen, until one is chosen
        self._new_friends = 0
        for user_id, name, role, language in first_people():
            self._add(user_id, name, role, language)

    def _add(self, user_id: int, name: str, role: str, language: str) -> Person:
        user = self.tg.user(user_id, name, language_code=language)
        self.people[user_id] = Person(user, role, phone_of(user_id))
        self.sent[user_id] = []
        return self.people[user_id]

    def person(self, user_id: Any) -> Person:
        found = self.people.get(user_id) if isinstance(user_id, int) else None
        if found is None:
            raise Refused(f"there is nobody with the id {user_id!r} in this playground")
        return found

    def new_friend(self) -> Person:
        user_id, name, language = new_friend(self._new_friends)
        self._new_friends += 1
        return self._add(user_id, name, "friend", language)

    def message(self, person: Person, message_id: Any) -> SentMessage:
        found = [m for m in self.tg.messages(person.user.id) if m.message_id == message_id]
        if not found:
            raise Refused("that message is not in the chat any more")
        return found[0]

    def last_message_id(self, user_id: int) -> int:
        ids = [m.message_id for m in self.tg.messages(user_id)] + [self.sent_message_id(u) for u in self.sent[user_id]]
        return max(ids, default=0)

    def sent_message_id(self, update_id: int) -> int:
        return int(self.tg.update(update_id).get("message", {}).get("message_id", 0))

    async def send_text(self, person: Person, text: str) -> str:
        if not text.strip():
            raise Refused("type something first")
        self.sent[person.user.id].append(await self.tg.send_text(person.user, text[:4096]))
        return ""

    async def share_contact(self, person: Person) -> str:
        self.sent[person.user.id].append(await self.tg.share_contact(person.user, phone_number=person.phone))
        return ""

    async def open_link(self, person: Person, payload: str) -> str:
        self.sent[person.user.id].append(await self.tg.open_deep_link(person.user, payload))
        return ""

    async def press(self, person: Person, message_id: Any, data: str) -> str:
        """A callback button; the bot's answer to the tap, if it has words, is what the page shows as a toast."""
        update_id = await self.tg.press_button(person.user, self.message(person, message_id), data)
        query_id = self.tg.update(update_id)["callback_query"]["id"]
        try:
            answer = await self.tg.wait_for_callback_answer(query_id, CALLBACK_WAIT)
        except AssertionError:
            return ""
        return str(answer.get("text") or "")

    async def ask_for_cards(self, person: Person, query: str) -> str:
        """A share-in-a-chat button: the inline query Telegram sends once a chat is picked, and the bot's cards."""
        _, query_id = await self.tg.inline_query(person.user, query, chat_type="private")
        results = await self.tg.wait_for_inline_answer(query_id)
        self.offered[person.user.id] = (query, results)
        return "" if results else "the bot offered nothing to share"

    async def choose_card(self, person: Person, result_id: Any) -> str:
        query, results = self.offered.pop(person.user.id, ("", []))
        chosen = next((result for result in results if result.get("id") == result_id), None)
        if chosen is None:
            raise Refused("that card is not offered any more: tap the share button again")
        await self.tg.choose_inline_result(person.user, str(result_id), query)
        self._shared(person, *card_content(chosen))
        return "Sent to a chat: your friends in the playground can open it"

    def dismiss_cards(self, person: Person) -> str:
        self.offered.pop(person.user.id, None)
        return ""

    def share_page(self, person: Person, url: str) -> str:
        """Telegram's share page: the link and its words, sent into a chat the person picks."""
        asked = parse_qs(urlsplit(url).query)
        link, words = asked.get("url", [""])[0], asked.get("text", [""])[0]
        if not link:
            raise Refused("that share link carries no link to share")
        text = f"{link}\n{words}".strip()
        self._shared(person, text, [{"type": "url", "offset": 0, "length": len(link.encode("utf-16-le")) // 2}], None)
        return "Shared in a chat: your friends in the playground can open it"

    def _shared(self, person: Person, text: str, entities: list[JSONDict], markup: JSONDict | None,
                photo: str | None = None) -> None:  # fmt: skip
        anchors = {user_id: self.last_message_id(user_id) for user_id in self.people}
        self.cards.append(Card(person.user.id, text, entities, markup, photo, anchors))


def card_content(result: JSONDict) -> tuple[str, list[JSONDict], JSONDict | None, str | None]:
    """What the chosen inline result puts into the chat: text and entities, keyboard, and a cached photo's file id."""
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        text, entities = message_text(content["message_text"], content.get("parse_mode"), content.get("entities"))
        return text, entities, result.get("reply_markup"), None
    caption = result.get("caption") or ""
    text, entities = message_text(caption, result.get("parse_mode"), result.get("caption_entities"), caption=True)
    photo = result.get("photo_file_id")
    return text, entities, result.get("reply_markup"), str(photo) if photo else None
