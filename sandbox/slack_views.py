"""Modals and App Home: trigger_ids, views.open/push/update/publish, and what a view submission's answer does."""

import secrets
import time
from typing import Any

from sandbox.slack_blocks import check_view, refuse
from sandbox.slack_chat import SlackChat
from sandbox.slack_models import JSONDict, SlackError

TRIGGER_TTL = 3.0  # seconds: Slack's trigger_ids expire this soon after the click or command


class SlackViews(SlackChat):
    def __init__(self, team_id: str, bot_user_id: str, bot_id: str, app_id: str) -> None:
        super().__init__(team_id, bot_user_id, bot_id, app_id)
        self.trigger_ttl = TRIGGER_TTL
        self._triggers: dict[str, tuple[str, float]] = {}  # trigger_id -> (user, issued at, monotonic)
        self._used_triggers: set[str] = set()
        self._view_owner: dict[str, str] = {}
        self._stacks: dict[str, list[str]] = {}  # the modals open for each person, bottom first

    def open_views(self, user_id: str) -> list[JSONDict]:
        """The modals on the person's screen now, bottom first (views() lists every modal ever opened)."""
        return [self._view_store[view_id] for view_id in self._stacks.get(user_id, [])]

    def issue_trigger(self, user_id: str) -> str:
        """A trigger_id as if the person had just clicked or used a command; views.open accepts it once."""
        trigger = f"{int(time.time())}.{self.team_id[1:] or '1'}.{secrets.token_hex(16)}"
        self._triggers[trigger] = (user_id, time.monotonic())
        return trigger

    def _use_trigger(self, trigger: Any) -> str:
        """The person a trigger_id belongs to; each works once, and only for a few seconds."""
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if trigger not in self._triggers:
            raise SlackError("invalid_trigger_id")
        user, issued = self._triggers.pop(trigger)
        self._used_triggers.add(trigger)
        if time.monotonic() - issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        return user

    def _views_open(self, params: JSONDict, *, push: bool = False) -> JSONDict:
        view = self._modal(params.get("view"))
        user = self._use_trigger(params.get("trigger_id"))
        if push and not self._stacks.get(user):
            raise SlackError("not_found")  # views.push needs a modal already open
        stored = self._keep_view(view, self._next_id("V", 10), user)
        if not push:
            self._stacks[user] = []
        self._stacks[user].append(stored["id"])
        return {"view": stored}

    def _views_push(self, params: JSONDict) -> JSONDict:
        return self._views_open(params, push=True)

    def _views_update(self, params: JSONDict) -> JSONDict:
        view_id = params.get("view_id") or self._by_external_id(params.get("external_id"))
        old = self._view_store.get(str(view_id))
        if old is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")  # someone changed the view since the bot read it
        view = check_view(params.get("view"))
        return {"view": self._keep_view(view, old["id"], self._view_owner[old["id"]])}

    def _views_publish(self, params: JSONDict) -> JSONDict:
        user = str(params.get("user_id", ""))
        if user not in self._users:
            raise SlackError("user_not_found")
        view = check_view(params.get("view"))
        if view["type"] != "home":
            raise refuse("invalid_arguments", ["must be home [json-pointer:/view/type]"])
        old = self._homes.get(user)
        if old and params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        self._homes[user] = self._stored_view(view, old["id"] if old else self._next_id("V", 10))
        self._notify()
        return {"view": self._homes[user]}

    def _modal(self, raw: Any) -> JSONDict:
        view = check_view(raw)
        if view["type"] != "modal":
            raise refuse("invalid_arguments", ["must be modal [json-pointer:/view/type]"])
        return view

    def _by_external_id(self, external_id: Any) -> str | None:
        found = (v["id"] for v in self._view_store.values() if external_id and v.get("external_id") == external_id)
        return next(found, None)

    def _keep_view(self, view: JSONDict, view_id: str, user: str) -> JSONDict:
        self._view_store[view_id] = self._stored_view(view, view_id)
        if view_id not in self._view_owner:
            self._view_owner[view_id] = user
            self._views_by_user.setdefault(user, []).append(view_id)
        self._notify()
        return self._view_store[view_id]

    def _stored_view(self, view: JSONDict, view_id: str) -> JSONDict:
        defaults = {"callback_id": "", "private_metadata": "", "external_id": "", "state": {"values": {}}}
        return defaults | view | {
            "id": view_id, "team_id": self.team_id, "app_id": self.app_id, "bot_id": self.bot_id,
            "root_view_id": view_id, "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        }  # fmt: skip

    def _submission(self, user_id: str, view_id: str, values: dict[str, dict[str, str]]) -> JSONDict:
        """The view as a view_submission carries it: the stored view plus what the person typed."""
        assert view_id in self._stacks.get(user_id, []), f"{user_id} has no open modal {view_id}: {self._stacks}"
        view = self._view_store[view_id]
        inputs = _inputs(view)
        state: JSONDict = {}
        for block_id, answers in values.items():
            for action_id, value in answers.items():
                assert (block_id, action_id) in inputs, f"the modal has no input {block_id}/{action_id}: {inputs}"
                typed = _answer(inputs[(block_id, action_id)], value)
                state.setdefault(block_id, {})[action_id] = typed
        return view | {"state": {"values": state}}

    def _after_submission(self, user_id: str, view_id: str, answer: JSONDict | None) -> None:
        """What Slack does with the bot's answer: errors keep the modal, update/push change it, else it closes."""
        action, view = (answer or {}).get("response_action"), (answer or {}).get("view")
        stack = self._stacks.setdefault(user_id, [])
        if action == "errors":
            return
        if action == "update":
            self._keep_view(self._modal(view), view_id, user_id)
        elif action == "push":
            stack.append(self._keep_view(self._modal(view), self._next_id("V", 10), user_id)["id"])
        elif action == "clear":
            stack.clear()
        elif view_id in stack:
            del stack[stack.index(view_id) :]
        self._notify()


def _answer(kind: str, value: str) -> JSONDict:
    """An input's state as Slack sends it: a picked person as selected_user, a picked option as selected_option."""
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind == "static_select":
        return {"type": kind, "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}}}
    return {"type": kind, "value": value}


def _inputs(view: JSONDict) -> dict[tuple[str, str], str]:
    """(block_id, action_id) -> element type, for every input block of a view."""
    blocks = [block for block in view.get("blocks", []) if block.get("type") == "input"]
    elements = [(block["block_id"], block.get("element")) for block in blocks]
    return {(str(bid), str(e.get("action_id"))): str(e.get("type")) for bid, e in elements if isinstance(e, dict)}
