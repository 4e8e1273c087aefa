"""The people side of the Telegram emulator: users, their chats, the update queue, and what they received."""

import asyncio
import itertools
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.telegram_entities import ApiError, JSONDict, bad_request
from sandbox.telegram_files import media_of

_DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})  # only when asked for


def _present(data: JSONDict) -> JSONDict:  # Telegram leaves out empty optional fields
    return {key: value for key, value in data.items() if value not in (None, [], "")}


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_dict(self) -> JSONDict:
        return _present(asdict(self) | {"is_bot": False})

    def private_chat(self) -> JSONDict:
        chat = {key: value for key, value in self.to_dict().items() if key not in ("is_bot", "language_code")}
        return chat | {"type": "private"}


@dataclass(frozen=True)
class SentMessage:
    """What a chat shows of a bot message: `text` or, with a file, `caption`; `html` is exactly as sent."""

    message_id: int
    chat_id: int
    text: str
    html: str
    parse_mode: str | None
    entities: tuple[JSONDict, ...]
    reply_markup: JSONDict | None
    date: int
    photo: bytes | None = None
    caption: str | None = None
    edited: bool = False
    file_id: str | None = None
    reply_to_message_id: int | None = None
    document: bytes | None = None
    file_name: str | None = None

    def buttons(self) -> list[JSONDict]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, text_contains: str) -> JSONDict:
        found = [button for button in self.buttons() if text_contains in button["text"]]
        assert found, f"no button with {text_contains!r} in {[button['text'] for button in self.buttons()]}"
        return found[0]


class UpdateQueue:
    """Telegram keeps every update until a getUpdates offset above its id confirms it."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[int, JSONDict] = {}
        self._replayed: set[int] = set()  # they survive confirmation until delivered once more
        self.history: dict[int, JSONDict] = {}
        self.allowed: frozenset[str] = frozenset()
        self.confirmed_offset = 0

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, kind: str, payload: JSONDict) -> int:
        update_id = next(self._ids)
        self._pending[update_id] = self.history[update_id] = {"update_id": update_id, kind: payload}
        return update_id

    def replay(self, update_id: int) -> None:
        assert update_id in self.history, f"update {update_id} was never sent, so Telegram cannot redeliver it"
        self._pending[update_id] = self.history[update_id]
        self._replayed.add(update_id)

    def confirm(self, offset: int) -> None:
        for update_id in [update_id for update_id in self._pending if update_id < offset]:
            if update_id not in self._replayed:
                del self._pending[update_id]
        self.confirmed_offset = max(self.confirmed_offset, offset)

    def is_allowed(self, update: JSONDict) -> bool:
        kind = next(key for key in update if key != "update_id")
        return kind in self.allowed if self.allowed else kind not in _OPT_IN_UPDATES

    def has_deliverable(self) -> bool:
        return any(self.is_allowed(update) for update in self._pending.values())

    def take(self, limit: int) -> list[JSONDict]:
        batch: list[JSONDict] = []
        for update_id in sorted(self._pending):
            if not self.is_allowed(self._pending[update_id]):
                del self._pending[update_id]  # an update type the bot did not ask for is never created
            elif len(batch) < limit:
                batch.append(self._pending[update_id])
                self._replayed.discard(update_id)
        return batch


class TelegramWorld:
    """Users and their private chats with the bot: what they send it, and what it sent them."""

    def __init__(self, bot_user: JSONDict, clock: Callable[[], float]) -> None:
        self.bot_user = bot_user
        self.callback_answers: dict[str, JSONDict] = {}
        self._clock = clock
        self._updates = UpdateQueue()
        self._changed = asyncio.Event()
        self._users: dict[int, FakeUser] = {}
        self._blocked: set[int] = set()
        self._sent: dict[int, list[SentMessage]] = {}
        self._last_message_id: dict[int, int] = {}
        self._query_ids = itertools.count(4_300_000_000_000_000_001)
        self._open_queries: dict[str, str] = {}  # query id -> its update kind, until the bot answers it
        self._inline_answers: dict[str, list[JSONDict]] = {}

    def user(
        self, user_id: int, first_name: str, *, last_name: str | None = None, username: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:  # fmt: skip
        person = FakeUser(user_id, first_name, last_name, username, language_code)
        self._users[user_id] = person
        self._last_message_id.setdefault(user_id, 0)
        return person

    def block_bot(self, user_id: int) -> None:
        self._blocked.add(user_id)

    async def send_text(self, person: FakeUser, text: str) -> int:
        command = _BOT_COMMAND.match(text)  # Telegram marks a leading /command as a bot_command entity
        entities = [{"type": "bot_command", "offset": 0, "length": command.end()}] if command else []
        return self._push("message", self._message_from(person, _present({"text": text, "entities": entities})))

    async def send_command(self, person: FakeUser, command: str, args: str = "") -> int:
        return await self.send_text(person, f"/{command} {args}".rstrip())

    async def open_deep_link(self, person: FakeUser, payload: str) -> int:
        assert _DEEP_LINK_PAYLOAD.fullmatch(payload), f"Telegram would not pass on the deep-link payload {payload!r}"
        return await self.send_text(person, f"/start {payload}")

    def deep_link_payload(self, url: str) -> str | None:
        parts = urlsplit(url)
        on_telegram = parts.scheme in ("http", "https") and parts.netloc.lower() in ("t.me", "telegram.me")
        payload = parse_qs(parts.query).get("start", [""])[0]
        is_ours = on_telegram and parts.path.strip("/").lower() == str(self.bot_user["username"]).lower()
        return payload if is_ours and _DEEP_LINK_PAYLOAD.fullmatch(payload) else None

    async def press_button(self, person: FakeUser, message: SentMessage, callback_data: str) -> int:
        current = self._find_sent(message.chat_id, message.message_id)
        assert current is not None and current.chat_id == person.id, f"{person.first_name} cannot see {message}"
        pressable = [button.get("callback_data") for button in current.buttons()]
        assert callback_data in pressable, f"no button {callback_data!r} on message {current.message_id}: {pressable}"
        query = {"id": self._open_query("callback_query"), "from": person.to_dict(), "chat_instance": str(person.id)}
        return self._push("callback_query", query | {"message": self.message_payload(current), "data": callback_data})

    async def inline_query(self, person: FakeUser, query: str = "", chat_type: str = "sender") -> tuple[int, str]:
        query_id = self._open_query("inline_query")
        payload = {"id": query_id, "from": person.to_dict(), "query": query, "offset": "", "chat_type": chat_type}
        return self._push("inline_query", payload), query_id

    async def choose_inline_result(self, person: FakeUser, result_id: str, query: str = "") -> int:
        return self._push("chosen_inline_result", {"result_id": result_id, "from": person.to_dict(), "query": query})

    async def share_contact(self, person: FakeUser, phone_number: str, contact_user_id: int | None = None) -> int:
        user_id = person.id if contact_user_id is None else contact_user_id  # a request_contact button's default
        contact: JSONDict = {"phone_number": phone_number, "first_name": person.first_name, "user_id": user_id}
        return self._push("message", self._message_from(person, {"contact": contact}))

    async def replay(self, update_id: int) -> None:
        """Telegram redelivers an update with the same update_id when it was not confirmed."""
        self._updates.replay(update_id)
        self._notify()

    def update(self, update_id: int) -> JSONDict:
        return self._updates.history[update_id]

    def messages(self, chat_id: int) -> list[SentMessage]:
        return list(self._sent.get(chat_id, []))

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = 5.0) -> list[SentMessage]:
        if not await self._wait_until(lambda: len(self._sent.get(chat_id, [])) >= count, timeout):
            texts = [message.text or message.caption for message in self.messages(chat_id)]
            raise AssertionError(f"chat {chat_id} has {len(texts)} of {count} messages after {timeout}s: {texts}")
        return self.messages(chat_id)

    def inline_answers(self, inline_query_id: str) -> list[JSONDict]:
        return self._inline_answers.get(inline_query_id, [])

    async def wait_for_inline_answer(self, inline_query_id: str, timeout: float = 5.0) -> list[JSONDict]:
        if not await self._wait_until(lambda: inline_query_id in self._inline_answers, timeout):
            raise AssertionError(f"inline query {inline_query_id} was not answered within {timeout}s")
        return self._inline_answers[inline_query_id]

    async def wait_for_callback_answer(self, callback_query_id: str, timeout: float = 5.0) -> JSONDict:
        if not await self._wait_until(lambda: callback_query_id in self.callback_answers, timeout):
            raise AssertionError(f"callback query {callback_query_id} was not answered within {timeout}s")
        return self.callback_answers[callback_query_id]

    def pending_updates(self) -> int:
        return len(self._updates)

    @property
    def confirmed_offset(self) -> int:
        return self._updates.confirmed_offset

    def _notify(self) -> None:  # wakes every waiter (long polls, wait_for_*) to recheck what it waits for
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, ready: Callable[[], bool], seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                while not ready():
                    await self._changed.wait()
        except TimeoutError:
            pass
        return ready()

    def _now(self) -> int:
        return int(self._clock())

    def _push(self, kind: str, payload: JSONDict) -> int:
        update_id = self._updates.push(kind, payload)
        self._notify()
        return update_id

    def _open_query(self, kind: str) -> str:
        query_id = str(next(self._query_ids))
        self._open_queries[query_id] = kind
        return query_id

    def _answer_query(self, kind: str, query_id: str, answers: dict[str, Any], answer: Any) -> bool:
        if self._open_queries.get(query_id) != kind:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        del self._open_queries[query_id]
        answers[query_id] = answer
        self._notify()
        return True

    def _message_from(self, person: FakeUser, content: JSONDict) -> JSONDict:
        self._users.setdefault(person.id, person)
        self._last_message_id.setdefault(person.id, 0)
        self._blocked.discard(person.id)  # writing to a bot unblocks it
        message = {"message_id": self._new_message_id(person.id), "from": person.to_dict(), "date": self._now()}
        return message | {"chat": person.private_chat()} | content

    def _chat_for_bot(self, chat_id: Any) -> int:
        if not isinstance(chat_id, int) or chat_id not in self._users:
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _new_message_id(self, chat_id: int) -> int:  # both sides of a chat share one message_id sequence
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        return next((sent for sent in self._sent.get(chat_id, []) if sent.message_id == message_id), None)

    def _store(self, message: SentMessage) -> JSONDict:  # a new or edited message, answered as a Message
        chat = self._sent.setdefault(message.chat_id, [])
        index = next((i for i, sent in enumerate(chat) if sent.message_id == message.message_id), len(chat))
        chat[index : index + 1] = [message]
        self._notify()
        return self.message_payload(message)

    def message_payload(self, message: SentMessage) -> JSONDict:
        data: JSONDict = {"message_id": message.message_id, "from": self.bot_user, "date": message.date}
        data["chat"] = self._users[message.chat_id].private_chat()
        data["edit_date"] = self._now() if message.edited else None
        if message.file_id:
            data |= media_of(message.file_id, message.photo, message.document, message.file_name)
            data["caption"] = message.caption
        else:
            data["text"] = message.text
        data["caption_entities" if message.file_id else "entities"] = list(message.entities)
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup  # a Message carries only an inline keyboard
        return _present(data)
