"""Web API methods for messages, DMs, people and files, and what a response_url does with the bot's reply."""

import itertools
from dataclasses import dataclass, replace
from typing import Any

from sandbox.slack_blocks import decode_json, message_content
from sandbox.slack_models import JSONDict, SharedFile, SlackError, SlackMessage
from sandbox.slack_workspace import SlackWorkspace

RESPONSE_URL_USES = 5  # Slack accepts five replies per response_url


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


@dataclass
class ResponseTarget:
    """Whom a response_url answers, and the message it came from (for replace_original/delete_original)."""

    user: str
    channel: str
    message_ts: str | None = None
    ephemeral: bool = False
    uses: int = 0


@dataclass
class _Upload:
    name: str
    length: int
    content: bytes | None = None


class SlackChat(SlackWorkspace):
    def __init__(self, team_id: str, bot_user_id: str, bot_id: str, app_id: str) -> None:
        super().__init__(team_id, bot_user_id, bot_id, app_id)
        self._ids = itertools.count(1)
        self._uploads: dict[str, _Upload] = {}
        self._response_targets: dict[str, ResponseTarget] = {}

    def _url(self, path: str) -> str:
        raise NotImplementedError  # the server knows its own address

    def _next_id(self, prefix: str, width: int = 8) -> str:
        return f"{prefix}{next(self._ids):0{width}d}"

    def _chat_post_message(self, params: JSONDict) -> JSONDict:
        channel = self._channel_for_bot(params.get("channel"))
        text, blocks = message_content(params)
        thread_ts = self._thread_root(channel.id, params.get("thread_ts"))
        broadcast = thread_ts is not None and truthy(params.get("reply_broadcast"))
        message = SlackMessage(self._new_ts(), channel.id, self.bot_user_id, text, blocks or [], thread_ts)
        self._store(replace(message, reply_broadcast=broadcast, metadata=_metadata(params.get("metadata"))))
        return {"channel": channel.id, "ts": message.ts, "message": self.message_payload(message)}

    def _conversations_history(self, params: JSONDict) -> JSONDict:
        """Top-level messages newest first, after `oldest` (exclusive), paged by cursor like Slack."""
        channel = self._channel_for_bot(params.get("channel"))
        oldest, limit = float(params.get("oldest") or 0), min(int(params.get("limit") or 100), 999)
        start = int(params.get("cursor") or 0)
        listed = [m for m in reversed(self._messages.get(channel.id, [])) if not m.is_reply and float(m.ts) > oldest]
        page = listed[start : start + limit]
        with_metadata = truthy(params.get("include_all_metadata"))
        more = start + limit < len(listed)
        return {
            "messages": [self._history_item(m, with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _history_item(self, message: SlackMessage, with_metadata: bool) -> JSONDict:
        item = self.message_payload(message)
        if with_metadata and message.metadata is not None:
            item["metadata"] = message.metadata
        return item

    def _thread_root(self, channel: str, thread_ts: Any) -> str | None:
        """Stricter than Slack, which silently drops a reply to a missing message: here the bot learns of it."""
        if thread_ts in (None, ""):
            return None
        if not isinstance(thread_ts, str) or not thread_ts.replace(".", "", 1).isdigit():
            raise SlackError("invalid_thread_ts")
        try:
            parent = self._find(channel, thread_ts)
        except SlackError:
            raise SlackError("thread_not_found") from None
        return parent.thread_ts if parent.is_reply else parent.ts  # a reply to a reply joins the same thread

    def _chat_update(self, params: JSONDict) -> JSONDict:
        channel = self._channel_for_bot(params.get("channel"))
        old = self._find(channel.id, params.get("ts"))
        text, blocks = message_content(params)
        new = self._edit(old, text, old.blocks if blocks is None else blocks)  # omitted blocks are kept
        return {"channel": channel.id, "ts": new.ts, "text": new.text, "message": self.message_payload(new)}

    def _chat_delete(self, params: JSONDict) -> JSONDict:
        channel = self._channel_for_bot(params.get("channel"))
        self._delete(self._find(channel.id, params.get("ts")))
        return {"channel": channel.id, "ts": params.get("ts")}

    def _chat_post_ephemeral(self, params: JSONDict) -> JSONDict:
        channel = self._channel_for_bot(params.get("channel"))
        user = str(params.get("user", ""))
        if user not in self._users:
            raise SlackError("user_not_found")
        if user not in channel.members:
            raise SlackError("user_not_in_channel")
        text, blocks = message_content(params)
        thread_ts = params.get("thread_ts") or None
        ts = self._new_ts()
        self._store(SlackMessage(ts, channel.id, self.bot_user_id, text, blocks or [], thread_ts, ephemeral_to=user))
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: JSONDict) -> JSONDict:
        channel = self._channel_for_bot(params.get("channel"))
        ts = self._find(channel.id, params.get("message_ts")).ts
        return {
            "channel": channel.id,
            "permalink": f"https://emulated.slack.com/archives/{channel.id}/p{ts.replace('.', '')}",
        }

    def _conversations_open(self, params: JSONDict) -> JSONDict:
        users = [user for user in str(params.get("users", "")).split(",") if user]
        if len(users) != 1:
            raise SlackError("not_implemented" if users else "users_list_not_supplied")  # no group DMs here
        already = users[0] in self._dms
        channel_id = self.dm_channel(users[0])
        return {"channel": {"id": channel_id}} | ({"already_open": True, "no_op": True} if already else {})

    def _conversations_info(self, params: JSONDict) -> JSONDict:
        """What the bot may know of a channel: a private one it is not in is "not found", as in Slack."""
        found = self._channels.get(self._channel_id(str(params.get("channel", ""))))
        if found is None or (found.private and not found.bot_member):
            raise SlackError("channel_not_found")
        kind = {"is_im": True} if found.dm_user else {"is_channel": not found.private, "is_group": found.private}
        return {"channel": {"id": found.id, "name": found.name, "is_private": found.private,
                            "is_member": found.bot_member, "is_archived": False} | kind}  # fmt: skip

    def _users_info(self, params: JSONDict) -> JSONDict:
        user = self._users.get(str(params.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        # As in Slack, the person's language is there only when asked for.
        shown = user if truthy(params.get("include_locale")) else {k: v for k, v in user.items() if k != "locale"}
        return {"user": shown}

    def _files_get_upload_url(self, params: JSONDict) -> JSONDict:
        filename, length = params.get("filename"), str(params.get("length", ""))
        if not filename or not length.isdigit():
            raise SlackError("invalid_arguments")
        file_id = self._next_id("F", 10)
        self._uploads[file_id] = _Upload(str(filename), int(length))
        return {"upload_url": self._url(f"/upload/{file_id}"), "file_id": file_id}

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        upload = self._uploads.get(file_id)
        if upload is None:
            return False
        upload.content = content
        return True

    def uploaded(self, file_id: str) -> tuple[str, bytes] | None:
        """The name and bytes of a file the bot uploaded, shared or not: an image block's slack_file may name it."""
        upload = self._uploads.get(file_id)
        return None if upload is None or upload.content is None else (upload.name, upload.content)

    def _files_complete_upload(self, params: JSONDict) -> JSONDict:
        items = decode_json(params.get("files"), "files")
        if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
            raise SlackError("invalid_arguments")
        files = [self._uploaded(item) for item in items]
        targets = [params[key] for key in ("channel_id", "channel") if params.get(key)]
        for target in targets + [c for c in str(params.get("channels") or "").split(",") if c]:
            self._share(files, target, params)
        return {"files": [{"id": f.id, "name": f.name, "title": f.title, "size": len(f.content)} for f in files]}

    def _uploaded(self, item: JSONDict) -> SharedFile:
        upload = self._uploads.get(str(item.get("id")))
        if upload is None or upload.content is None:
            raise SlackError("file_not_found")  # never sent to its upload_url
        return SharedFile(str(item["id"]), upload.name, str(item.get("title") or upload.name), upload.content, "")

    def _share(self, files: list[SharedFile], target: Any, params: JSONDict) -> None:
        """Like Slack, sharing files posts a bot message that carries them and the initial comment."""
        channel = self._channel_for_bot(target)
        thread_ts = self._thread_root(channel.id, params.get("thread_ts"))
        comment = str(params.get("initial_comment") or "") or None
        shared = [replace(f, channel=channel.id, initial_comment=comment, thread_ts=thread_ts) for f in files]
        self._shared.setdefault(channel.id, []).extend(shared)
        ids = [f.id for f in files]
        self._store(SlackMessage(self._new_ts(), channel.id, self.bot_user_id, comment or "", [], thread_ts, files=ids))

    def _new_response_url(self, target: ResponseTarget) -> str:
        token = self._next_id("R", 12)
        self._response_targets[token] = target
        return self._url(f"/response/{token}")

    def apply_response(self, token: str, body: JSONDict) -> tuple[int, str]:
        """A reply to a response_url: in the channel, ephemeral (the default), or replacing/deleting the original."""
        target = self._response_targets.get(token)
        if target is None or target.uses >= RESPONSE_URL_USES:
            return 404, "used_url" if target else "invalid_url"
        try:
            if truthy(body.get("delete_original")):
                self._delete(self._original(target))
            else:
                text, blocks = message_content(body)
                self._respond(target, body, text, blocks)
        except SlackError as error:
            return 400, error.error
        target.uses += 1
        self.responses.append(body | {"user": target.user})
        self._notify()
        return 200, "ok"

    def _respond(self, target: ResponseTarget, body: JSONDict, text: str, blocks: list[JSONDict] | None) -> None:
        if truthy(body.get("replace_original")):
            self._edit(self._original(target), text, blocks or [])
            return
        thread_ts = body.get("thread_ts") or None
        ephemeral_to = None if body.get("response_type") == "in_channel" else target.user
        ts = self._new_ts()
        self._store(
            SlackMessage(ts, target.channel, self.bot_user_id, text, blocks or [], thread_ts, ephemeral_to=ephemeral_to)
        )

    def _original(self, target: ResponseTarget) -> SlackMessage:
        listed = self._ephemerals.get(target.user, []) if target.ephemeral else self._messages.get(target.channel, [])
        found = next((message for message in listed if message.ts == target.message_ts), None)
        if found is None:
            raise SlackError("message_not_found")
        return found


def _metadata(value: Any) -> JSONDict | None:
    """Message metadata must name an event type and carry an object payload, as Slack requires."""
    if value in (None, ""):
        return None
    metadata = decode_json(value, "metadata")
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}
