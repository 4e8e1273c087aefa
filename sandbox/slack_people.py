"""People using the Slack app: slash commands, button clicks, modal submissions and events, delivered as Slack does.

In HTTP mode each action is POSTed to the bot, signed with the signing secret; in Socket Mode it is an envelope on
the app's websocket. Either way the person waits at most ACK_TIMEOUT seconds for the bot's answer."""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack
from urllib.parse import urlencode

import aiohttp

from sandbox.slack_chat import ResponseTarget
from sandbox.slack_models import JSONDict, PersonResponse, SlackError, SlackMessage
from sandbox.slack_socket import ACK_TIMEOUT, SocketHub
from sandbox.slack_views import SlackViews

VERIFICATION_TOKEN = "sandbox-verification-token"  # deprecated by Slack, still sent in every payload


class Delivery(TypedDict, total=False):
    sign: bool  # False: no signature headers at all
    tamper: bool  # sign a different body than the one sent
    timestamp_offset: int  # seconds added to the signed timestamp; -400 makes a stale request
    retry_num: int | None  # sent as X-Slack-Retry-Num with X-Slack-Retry-Reason: http_timeout


@dataclass(frozen=True)
class _Sent:
    kind: str  # the Socket Mode envelope type: slash_commands, interactive or events_api
    payload: JSONDict
    options: Delivery


def _encode(kind: str, payload: JSONDict) -> tuple[str, str]:
    """The HTTP body Slack sends for each kind: form fields, a form field `payload` holding JSON, or JSON."""
    if kind == "slash_commands":
        return urlencode(payload), "application/x-www-form-urlencoded"
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    return json.dumps(payload), "application/json"


def _as_json(text: str) -> JSONDict | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class SlackPeople(SlackViews):
    def __init__(self, team_id: str, bot_user_id: str, bot_id: str, app_id: str, signing_secret: str) -> None:
        super().__init__(team_id, bot_user_id, bot_id, app_id)
        self.signing_secret = signing_secret
        self.team_domain = "sandbox"
        self.bot_endpoint: str | None = None  # where HTTP-mode actions go, e.g. http://127.0.0.1:3000/slack/events
        self.mode: Literal["http", "socket"] = "http"
        self.ack_timeout = ACK_TIMEOUT  # how long a person waits for the bot's answer before Slack shows an error
        self.sockets = SocketHub(app_id, self._notify)
        self._session: aiohttp.ClientSession | None = None
        self._last: _Sent | None = None
        self._event_ids = 0

    async def slash_command(
        self, user_id: str, command: str, text: str = "", *, channel_id: str | None = None, **options: Unpack[Delivery]
    ) -> PersonResponse:
        assert channel_id is None or channel_id in self._channels, f"add_channel({channel_id!r}, ...) first"
        channel = self._channels[channel_id or self.dm_channel(user_id)]
        assert user_id in channel.members, f"{user_id} is not in {channel.id}, so cannot use a command there"
        payload = {
            "token": VERIFICATION_TOKEN, "team_id": self.team_id, "team_domain": self.team_domain,
            "channel_id": channel.id, "channel_name": "directmessage" if channel.dm_user else channel.name,
            "user_id": user_id, "user_name": self._users[user_id]["name"], "command": command, "text": text,
            "api_app_id": self.app_id, "is_enterprise_install": "false",
            "response_url": self._new_response_url(ResponseTarget(user_id, channel.id)),
            "trigger_id": self.issue_trigger(user_id),
        }  # fmt: skip
        return await self._deliver("slash_commands", payload, options)

    async def click(
        self, user_id: str, message: SlackMessage, action_id: str, **options: Unpack[Delivery]
    ) -> PersonResponse:
        """Clicks a button on the message as it is now or, if the bot removed it since, as the person last saw it:
        a stale screen can still send a click, which is how races between two reps happen."""
        current = self._current(user_id, message)
        seen = next((m for m in (current, message) if any(b["action_id"] == action_id for b in m.buttons())), None)
        buttons = [b["action_id"] for b in current.buttons()]
        assert seen is not None, f"no button {action_id!r} on message {current.ts}: {buttons}"
        pressed = next(button for button in seen.buttons() if button["action_id"] == action_id)
        label = {"type": "plain_text", "text": pressed["text"], "emoji": True}
        action = pressed | {"type": "button", "text": label, "action_ts": f"{time.time():.6f}"}
        ephemeral = current.ephemeral_to is not None
        container = {"type": "message", "message_ts": current.ts, "channel_id": current.channel,
                     "is_ephemeral": ephemeral}  # fmt: skip
        target = ResponseTarget(user_id, current.channel, current.ts, ephemeral)
        payload = self._interaction("block_actions", user_id) | {
            "container": container | ({"thread_ts": current.thread_ts} if current.thread_ts else {}),
            "channel": {"id": current.channel, "name": self._channels[current.channel].name},
            "state": {"values": {}}, "response_url": self._new_response_url(target), "actions": [action],
        }  # fmt: skip
        if not ephemeral:  # Slack leaves the message out for ephemeral ones
            payload["message"] = self.message_payload(seen)
        return await self._deliver("interactive", payload, options)

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, str]], **options: Unpack[Delivery]
    ) -> PersonResponse:
        """Submits an open modal with {block_id: {action_id: typed text}}; the bot's answer then acts on the modal."""
        view = self._submission(user_id, view_id, values)
        payload = self._interaction("view_submission", user_id) | {"view": view, "response_urls": []}
        response = await self._deliver("interactive", payload, options)
        if response.status == 200:
            try:
                self._after_submission(user_id, view_id, response.json)
            except SlackError as error:
                raise AssertionError(
                    f"Slack refuses the view in the bot's answer {response.json}: {error.payload()}"
                ) from None
        return response

    async def send_event(self, user_id: str, event: JSONDict, **options: Unpack[Delivery]) -> PersonResponse:
        """An Events API event caused by the person, e.g. {"type": "app_home_opened", "tab": "home"}."""
        self._event_ids += 1
        event = {"user": user_id, "event_ts": f"{time.time():.6f}", **event}
        if event.get("type") == "app_home_opened":
            event = {"channel": self.dm_channel(user_id), "tab": "home", **event}
            event |= {"view": self._homes[user_id]} if user_id in self._homes else {}
        authorization = {"enterprise_id": None, "team_id": self.team_id, "user_id": self.bot_user_id, "is_bot": True}
        payload = {
            "token": VERIFICATION_TOKEN, "team_id": self.team_id, "api_app_id": self.app_id, "event": event,
            "type": "event_callback", "event_id": f"Ev{self._event_ids:08d}SANDBOX", "event_time": int(time.time()),
            "authorizations": [authorization | {"is_enterprise_install": False}], "is_ext_shared_channel": False,
            "event_context": f"4-{self._event_ids:08d}",
        }  # fmt: skip
        return await self._deliver("events_api", payload, options)

    async def resend_last(self, retry_num: int = 1, reason: str = "http_timeout") -> PersonResponse:
        """Slack's retry of the last action: the same body, signed anew, with retry headers (or retry_attempt)."""
        assert self._last is not None, "nothing was sent yet"
        if self.mode == "socket":
            return await self._envelope(self._last.kind, self._last.payload, retry_num, reason)
        return await self._post(
            self._last.kind, self._last.payload, self._last.options | {"retry_num": retry_num}, reason
        )

    async def replay_last(self) -> PersonResponse:
        """Someone who captured the last signed HTTP request sends it again within Slack's five-minute window: the
        same body, validly signed, and no retry headers, since it is not Slack retrying."""
        assert self._last is not None, "nothing was sent yet"
        assert self.mode == "http", "only an HTTP request can be captured and replayed"
        options: Delivery = {**self._last.options, "retry_num": None}
        return await self._post(self._last.kind, self._last.payload, options)

    @property
    def socket_clients(self) -> int:
        return len(self.sockets.clients)

    async def wait_for_socket(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self.socket_clients > 0, timeout, "a Socket Mode connection")

    def _person(self, user_id: str) -> JSONDict:
        name = self._users[user_id]["name"]
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _interaction(self, kind: str, user_id: str) -> JSONDict:
        return {
            "type": kind, "user": self._person(user_id), "api_app_id": self.app_id, "token": VERIFICATION_TOKEN,
            "trigger_id": self.issue_trigger(user_id), "team": {"id": self.team_id, "domain": self.team_domain},
            "enterprise": None, "is_enterprise_install": False,
        }  # fmt: skip

    def _current(self, user_id: str, message: SlackMessage) -> SlackMessage:
        """The message as it is now (it may have been edited since the test read it), if the person can see it."""
        if message.ephemeral_to is not None:
            assert message.ephemeral_to == user_id, f"only {message.ephemeral_to} sees ephemeral {message.ts}"
            listed = self._ephemerals.get(user_id, [])
        else:
            assert user_id in self._channels[message.channel].members, f"{user_id} is not in {message.channel}"
            listed = self._messages.get(message.channel, [])
        found = next((current for current in listed if current.ts == message.ts), None)
        assert found is not None, f"message {message.ts} is gone from {message.channel}"
        return found

    async def _deliver(self, kind: str, payload: JSONDict, options: Delivery) -> PersonResponse:
        self._last = _Sent(kind, payload, options)
        if self.mode == "http":
            return await self._post(kind, payload, options)
        retry_num = options.get("retry_num") or 0
        return await self._envelope(kind, payload, retry_num, "timeout" if retry_num else "")

    async def _envelope(self, kind: str, payload: JSONDict, retry_num: int, reason: str) -> PersonResponse:
        return await self.sockets.deliver(
            kind, payload, timeout=self.ack_timeout, retry_attempt=retry_num, retry_reason=reason
        )

    def _signature(self, timestamp: str, body: str) -> str:
        base = f"v0:{timestamp}:{body}".encode()
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    async def _post(
        self, kind: str, payload: JSONDict, options: Delivery, reason: str = "http_timeout"
    ) -> PersonResponse:
        assert self.bot_endpoint, "set emu.bot_endpoint to the bot's /slack/events URL, or use emu.mode = 'socket'"
        assert self._session is not None, "the emulator is not running; use `async with SlackEmulator() as emu`"
        body, content_type = _encode(kind, payload)
        headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if options.get("sign", True):
            timestamp = str(int(time.time()) + options.get("timestamp_offset", 0))
            signed = body + "&tampered" if options.get("tamper", False) else body
            headers |= {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": self._signature(timestamp, signed)}
        if options.get("retry_num") is not None:
            headers |= {"X-Slack-Retry-Num": str(options.get("retry_num")), "X-Slack-Retry-Reason": reason}
        started = time.monotonic()
        try:
            timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
            async with self._session.post(
                self.bot_endpoint, data=body.encode(), headers=headers, timeout=timeout
            ) as reply:
                text = await reply.text()
        except TimeoutError:
            return PersonResponse(504, "", None, time.monotonic() - started)  # Slack gives up after 3 seconds
        except aiohttp.ClientConnectionError:
            return PersonResponse(502, "dispatch_failed", None, time.monotonic() - started)  # the bot is not up
        return PersonResponse(reply.status, text, _as_json(text), time.monotonic() - started)
