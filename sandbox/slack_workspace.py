"""The workspace the Slack emulator keeps: people, channels, and everything the bot made them see."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sandbox.slack_models import JSONDict, SharedFile, SlackError, SlackMessage


@dataclass
class Channel:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    bot_member: bool = True
    dm_user: str | None = None  # set for the bot's direct-message channel with that person
    private: bool = False


class SlackWorkspace:
    """People and channels, the messages, views and files the bot produced, and waiting for them to appear."""

    def __init__(self, team_id: str, bot_user_id: str, bot_id: str, app_id: str) -> None:
        self.team_id, self.bot_user_id, self.bot_id, self.app_id = team_id, bot_user_id, bot_id, app_id
        self.responses: list[JSONDict] = []  # response_url bodies, each with the "user" it answered
        self._users: dict[str, JSONDict] = {bot_user_id: self._profile(bot_user_id, "referralbot", "Referral Bot")}
        self._users[bot_user_id] |= {"is_bot": True}
        self._channels: dict[str, Channel] = {}
        self._dms: dict[str, str] = {}  # user id -> its DM channel id
        self._messages: dict[str, list[SlackMessage]] = {}  # channel -> messages and replies, in posting order
        self._ephemerals: dict[str, list[SlackMessage]] = {}
        self._view_store: dict[str, JSONDict] = {}
        self._views_by_user: dict[str, list[str]] = {}
        self._homes: dict[str, JSONDict] = {}
        self._shared: dict[str, list[SharedFile]] = {}
        self._changed = asyncio.Event()
        self._last_micros = 0

    def add_user(
        self, user_id: str, name: str, *, real_name: str | None = None, email: str | None = None,
        tz: str = "UTC", is_admin: bool = False, locale: str = "en-US",
    ) -> JSONDict:  # fmt: skip
        """`locale` is the language the person set in Slack, which users.info shows only with include_locale."""
        profile = self._profile(user_id, name, real_name or name, email, tz)
        self._users[user_id] = profile | {"is_admin": is_admin, "locale": locale}
        return self._users[user_id]

    def add_channel(
        self, channel_id: str, name: str, members: set[str] | None = None, bot_member: bool = True,
        private: bool = False,
    ) -> None:  # fmt: skip
        unknown = sorted((members or set()) - self._users.keys())
        assert not unknown, f"add these users before putting them in #{name}: {unknown}"
        self._channels[channel_id] = Channel(channel_id, name, set(members or ()), bot_member, private=private)

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM with that person, opened on first use as conversations.open does."""
        if user_id not in self._users:
            raise SlackError("user_not_found")
        if user_id not in self._dms:
            self._dms[user_id] = f"D{len(self._dms) + 1:08d}"
            self._channels[self._dms[user_id]] = Channel(self._dms[user_id], user_id, {user_id}, True, user_id)
        return self._dms[user_id]

    def messages(self, channel: str) -> list[SlackMessage]:
        """Top-level messages in the channel, in order; thread replies show only when broadcast."""
        listed = self._messages.get(self._channel_id(channel), [])
        return [message for message in listed if not message.is_reply or message.reply_broadcast]

    def all_messages(self) -> list[SlackMessage]:
        """Every message in every channel and DM, thread replies included: what the workspace holds."""
        return [message for listed in self._messages.values() for message in listed]

    def thread(self, channel: str, ts: str) -> list[SlackMessage]:
        listed = self._messages.get(self._channel_id(channel), [])
        return [message for message in listed if message.is_reply and message.thread_ts == ts]

    def dm(self, user_id: str) -> list[SlackMessage]:
        return self.messages(self._dms[user_id]) if user_id in self._dms else []

    def ephemerals(self, user_id: str) -> list[SlackMessage]:
        return list(self._ephemerals.get(user_id, []))

    def views(self, user_id: str) -> list[JSONDict]:
        return [self._view_store[view_id] for view_id in self._views_by_user.get(user_id, [])]

    def home(self, user_id: str) -> JSONDict | None:
        return self._homes.get(user_id)

    def files(self, channel: str) -> list[SharedFile]:
        return list(self._shared.get(self._channel_id(channel), []))

    async def wait_for_messages(
        self, channel: str, count: int, thread_ts: str | None = None, timeout: float = 5.0
    ) -> list[SlackMessage]:
        def current() -> list[SlackMessage]:
            return self.messages(channel) if thread_ts is None else self.thread(channel, thread_ts)

        if not await self._wait_until(lambda: len(current()) >= count, timeout):
            where = channel if thread_ts is None else f"the thread {thread_ts} in {channel}"
            texts = [message.text for message in current()]
            raise AssertionError(f"{where} has {len(texts)} of {count} messages after {timeout}s: {texts}")
        return current()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        if not await self._wait_until(predicate, timeout):
            raise AssertionError(f"{what} did not happen within {timeout}s")

    async def _wait_until(self, ready: Callable[[], bool], seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            # Woken by every change; the short tick also catches predicates on state outside the emulator.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
        return True

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _profile(self, user_id: str, name: str, real_name: str, email: str | None = None, tz: str = "UTC") -> JSONDict:
        profile = {"real_name": real_name, "display_name": name, "email": email, "team": self.team_id}
        return {
            "id": user_id, "team_id": self.team_id, "name": name, "real_name": real_name, "deleted": False,
            "is_bot": False, "tz": tz, "profile": {key: value for key, value in profile.items() if value is not None},
        }  # fmt: skip

    def _new_ts(self) -> str:
        """Slack message timestamps: unique, increasing, and shaped like "1700000000.000100"."""
        self._last_micros = max(self._last_micros + 1, int(time.time() * 1_000_000))
        return f"{self._last_micros // 1_000_000}.{self._last_micros % 1_000_000:06d}"

    def _channel_id(self, channel: str) -> str:
        """Channel ids, `#name`, or a user id for the DM with that person all name a channel, as in Slack."""
        if channel.startswith("#"):
            return next((c.id for c in self._channels.values() if c.name == channel[1:] and not c.dm_user), channel)
        return self._dms.get(channel, channel)

    def _channel_for_bot(self, channel: object) -> Channel:
        name = str(channel or "")
        if name in self._users and name != self.bot_user_id:
            self.dm_channel(name)
        found = self._channels.get(self._channel_id(name))
        if found is None:
            raise SlackError("channel_not_found")
        if not found.bot_member:
            raise SlackError("not_in_channel")
        return found

    def _find(self, channel: str, ts: object) -> SlackMessage:
        found = next((m for m in self._messages.get(channel, []) if m.ts == ts), None)
        if found is None:
            raise SlackError("message_not_found")
        return found

    def _store(self, message: SlackMessage) -> SlackMessage:
        """A new message goes last; an edited one keeps its place."""
        target = self._ephemerals.setdefault(message.ephemeral_to, []) if message.ephemeral_to else None
        listed = target if target is not None else self._messages.setdefault(message.channel, [])
        index = next((i for i, old in enumerate(listed) if old.ts == message.ts), len(listed))
        listed[index : index + 1] = [message]
        self._notify()
        return message

    def _edit(self, old: SlackMessage, text: str, blocks: list[JSONDict]) -> SlackMessage:
        history = [*old.history, old.text]
        return self._store(replace(old, text=text, blocks=blocks, edits=old.edits + 1, history=history))

    def _delete(self, message: SlackMessage) -> None:
        owner = self._ephemerals.get(message.ephemeral_to or "") or self._messages.get(message.channel, [])
        owner[:] = [kept for kept in owner if kept.ts != message.ts]
        self._notify()

    def message_payload(self, message: SlackMessage) -> JSONDict:
        """A message as the Web API and interaction payloads show it."""
        payload: JSONDict = {
            "type": "message", "user": message.user, "bot_id": self.bot_id, "app_id": self.app_id,
            "text": message.text, "blocks": message.blocks, "ts": message.ts, "team": self.team_id,
        }  # fmt: skip
        if message.thread_ts is not None:
            payload["thread_ts"] = message.thread_ts
        if message.edits:
            payload["edited"] = {"user": message.user, "ts": message.ts}
        return payload
