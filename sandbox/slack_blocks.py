"""Block Kit as Slack checks it: the limits a bot hits in production, reported with Slack's JSON pointers.

Only the block types a referral bot uses are known; anything else is refused, so a typo fails in tests."""

import hashlib
import json
from typing import Any

from sandbox.slack_models import JSONDict, SlackError

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
_BLOCK_TYPES = frozenset({"section", "actions", "context", "divider", "header", "input", "rich_text", "image"})
_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_INTERACTIVE = frozenset({
    "button", "static_select", "users_select", "conversations_select", "channels_select", "external_select",
    "overflow", "datepicker", "timepicker", "checkboxes", "radio_buttons", "plain_text_input", "number_input",
    "email_text_input", "url_text_input", "multi_static_select", "multi_users_select",
})  # fmt: skip


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self._block_ids: set[str] = set()
        self._action_ids: set[str] = set()

    def fail(self, pointer: str, message: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def text(self, obj: Any, pointer: str, limit: int, *, plain: bool = False) -> None:
        if not isinstance(obj, dict) or obj.get("type") not in _TEXT_TYPES:
            self.fail(pointer, "must provide a text object")
        elif plain and obj["type"] != "plain_text":
            self.fail(f"{pointer}/type", "must be plain_text")
        elif not isinstance(obj.get("text"), str) or not obj["text"]:
            self.fail(f"{pointer}/text", "must be more than 0 characters")  # Slack refuses an empty text
        elif len(obj["text"]) > limit:
            self.fail(f"{pointer}/text", f"must be less than {limit + 1} characters")

    def unique(self, seen: set[str], value: Any, pointer: str, name: str) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value or len(value) > 255:
            self.fail(pointer, f"{name} must be 1 to 255 characters")
        elif value in seen:
            self.fail(pointer, f"duplicate {name}: {value}")
        seen.add(str(value))

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict):
            self.fail(pointer, "must provide an object")
            return
        if element.get("type") in _INTERACTIVE:
            self.unique(self._action_ids, element.get("action_id"), f"{pointer}/action_id", "action_id")
        if element.get("type") == "button":
            self.text(element.get("text"), f"{pointer}/text", 75, plain=True)
            if len(str(element.get("value", ""))) > 2000:
                self.fail(f"{pointer}/value", "must be less than 2001 characters")
            if len(str(element.get("url", ""))) > 3000:
                self.fail(f"{pointer}/url", "must be less than 3001 characters")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.fail(pointer, "must provide an object")
            return
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            self.fail(f"{pointer}/type", f"unsupported block type: {kind}")
            return
        self.unique(self._block_ids, block.get("block_id"), f"{pointer}/block_id", "block_id")
        getattr(self, f"_{kind}")(block, pointer)

    def _section(self, block: JSONDict, pointer: str) -> None:
        if "text" not in block and not block.get("fields"):
            self.fail(pointer, "must provide either text or fields")
        if "text" in block:
            self.text(block["text"], f"{pointer}/text", 3000)
        fields = block.get("fields") or []
        if len(fields) > 10:
            self.fail(f"{pointer}/fields", "no more than 10 items allowed")
        for index, item in enumerate(fields):
            self.text(item, f"{pointer}/fields/{index}", 2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory")

    def _actions(self, block: JSONDict, pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.fail(f"{pointer}/elements", "must provide at least 1 item")
            return
        if len(elements) > 25:
            self.fail(f"{pointer}/elements", "no more than 25 items allowed")
        for index, element in enumerate(elements):
            self.element(element, f"{pointer}/elements/{index}")

    def _context(self, block: JSONDict, pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            self.fail(f"{pointer}/elements", "must provide 1 to 10 items")
            return
        for index, element in enumerate(elements):
            if not isinstance(element, dict) or element.get("type") != "image":
                self.text(element, f"{pointer}/elements/{index}", 3000)

    def _header(self, block: JSONDict, pointer: str) -> None:
        self.text(block.get("text"), f"{pointer}/text", 150, plain=True)

    def _input(self, block: JSONDict, pointer: str) -> None:
        self.text(block.get("label"), f"{pointer}/label", 2000, plain=True)
        self.element(block.get("element"), f"{pointer}/element")

    def _image(self, block: JSONDict, pointer: str) -> None:
        if not block.get("image_url") and not block.get("slack_file"):
            self.fail(f"{pointer}/image_url", "must provide image_url or slack_file")
        if not isinstance(block.get("alt_text"), str) or not 0 < len(block["alt_text"]) <= 2000:
            self.fail(f"{pointer}/alt_text", "must be 1 to 2000 characters")

    def _divider(self, block: JSONDict, pointer: str) -> None:
        pass

    def _rich_text(self, block: JSONDict, pointer: str) -> None:
        if not isinstance(block.get("elements"), list):
            self.fail(f"{pointer}/elements", "must provide an array")


def decode_json(value: Any, name: str) -> Any:
    """Form-encoded calls carry blocks, views and file lists as JSON strings; JSON calls carry them as-is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError(f"invalid_{name}_format" if name == "blocks" else "invalid_arguments") from None


def block_errors(blocks: Any, limit: int, pointer: str = "/blocks") -> list[str]:
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.fail(pointer, "must provide an array")
        return checker.errors
    if len(blocks) > limit:
        checker.fail(pointer, f"no more than {limit} items allowed")
    for index, block in enumerate(blocks):
        checker.block(block, f"{pointer}/{index}")
    return checker.errors


def refuse(error: str, messages: list[str]) -> SlackError:
    """Slack lists the problems twice: in `errors`, and as `[ERROR] ...` lines in response_metadata."""
    extra = {"response_metadata": {"messages": [f"[ERROR] {message}" for message in messages]}}
    return SlackError(error, extra=extra | ({"errors": messages} if error == "invalid_blocks" else {}))


def with_ids(blocks: list[JSONDict]) -> list[JSONDict]:
    """A copy with a block_id on every block and an action_id on every interactive element, as Slack stores them."""
    filled: list[JSONDict] = []
    for index, block in enumerate(blocks):
        block = dict(block)
        digest = hashlib.sha1(f"{index}:{json.dumps(block, sort_keys=True)}".encode()).hexdigest()
        block.setdefault("block_id", digest[:5])
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            block["elements"] = [_with_action_id(e, f"{digest[5:9]}{i}") for i, e in enumerate(block["elements"])]
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                block[key] = _with_action_id(block[key], digest[5:10])
        filled.append(block)
    return filled


def _with_action_id(element: JSONDict, generated: str) -> JSONDict:
    return element if element.get("type") not in _INTERACTIVE else {"action_id": generated} | element


def message_content(params: JSONDict, *, limit: int = MESSAGE_BLOCKS) -> tuple[str, list[JSONDict] | None]:
    """The text and blocks of a message, checked the way chat.postMessage checks them."""
    text, blocks = params.get("text"), decode_json(params.get("blocks"), "blocks")
    if (text is None or text == "") and not blocks:
        raise SlackError("no_text")
    if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    if blocks is None:
        return str(text or ""), None
    errors = block_errors(blocks, limit)
    if errors:
        raise refuse("invalid_blocks", errors)
    return str(text or ""), with_ids(blocks)


def check_view(view: Any) -> JSONDict:
    """A modal or App Home view, lightly checked; problems answer invalid_arguments as views.open does."""
    view = decode_json(view, "view")
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        raise refuse("invalid_arguments", ["must be modal or home [json-pointer:/view/type]"])
    checker = _Checker()
    for name in ("title", "submit", "close") if view["type"] == "modal" else ():
        if name in view or name == "title":
            checker.text(view.get(name), f"/view/{name}", 24, plain=True)
    if len(str(view.get("private_metadata", ""))) > 3000:
        checker.fail("/view/private_metadata", "must be less than 3001 characters")
    if checker.errors:
        raise refuse("invalid_arguments", checker.errors)
    errors = block_errors(view.get("blocks", []), VIEW_BLOCKS, "/view/blocks")
    if errors:
        raise refuse("invalid_blocks", errors)
    return view | {"blocks": with_ids(view.get("blocks", []))}
