"""What the Slack emulator records: messages as a person sees them, shared files, API calls and people's responses."""

from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


class SlackError(Exception):
    """A Web API error answer: `{"ok": false, "error": ...}`, with Slack's HTTP status and any extra fields."""

    def __init__(
        self, error: str, *, status: int = 200, extra: JSONDict | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra or {}
        self.headers = headers or {}

    def payload(self) -> JSONDict:
        return {"ok": False, "error": self.error} | self.extra


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: JSONDict
    at: float  # time.monotonic() when the call arrived
    status: int
    ok: bool
    error: str | None = None
    connection: int | None = None  # the client's port: calls that share it came over one kept-alive connection


@dataclass(frozen=True)
class SharedFile:
    id: str
    name: str
    title: str
    content: bytes
    channel: str
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class PersonResponse:
    """What the bot answered a person's action: the HTTP response, or the Socket Mode ack (504 when none came)."""

    status: int
    body: str
    json: JSONDict | None
    elapsed: float


def text_of(obj: Any) -> str:
    """The text of a text object (`{"type": "plain_text", "text": ...}`), or "" when there is none."""
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _button_view(element: JSONDict, block_id: str) -> JSONDict:
    view = {"action_id": element.get("action_id"), "block_id": block_id, "text": text_of(element.get("text"))}
    return view | {key: element[key] for key in ("value", "style", "url") if key in element}


def _elements(block: JSONDict) -> list[JSONDict]:
    found = [block["accessory"]] if isinstance(block.get("accessory"), dict) else []
    return found + [element for element in block.get("elements", []) if isinstance(element, dict)]


def _rich_text(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [str(node["text"])] if node.get("type") == "text" and "text" in node else []
        return own + _rich_text(node.get("elements", []))
    return [text for child in node for text in _rich_text(child)] if isinstance(node, list) else []


def _block_texts(block: JSONDict) -> list[str]:
    kind = block.get("type")
    if kind == "rich_text":
        return ["".join(_rich_text(block.get("elements", [])))]
    texts = [text_of(block.get("text")), text_of(block.get("label"))]
    texts += [text_of(item) for item in block.get("fields", [])]
    for element in _elements(block):
        texts.append(text_of(element) if kind == "context" else text_of(element.get("text")))
    return [text for text in texts if text]


@dataclass(frozen=True)
class SlackMessage:
    """A bot message as a person sees it now; `history` holds the texts it had before each chat.update."""

    ts: str
    channel: str
    user: str
    text: str
    blocks: list[JSONDict] = field(default_factory=list)
    thread_ts: str | None = None
    edits: int = 0
    history: list[str] = field(default_factory=list)
    reply_broadcast: bool = False
    ephemeral_to: str | None = None  # set for an ephemeral message: the only person who sees it
    files: list[str] = field(default_factory=list)  # ids of files shared with this message
    metadata: JSONDict | None = None  # the app's message metadata: {"event_type", "event_payload"}

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def buttons(self) -> list[JSONDict]:
        """Every button, flattened to {action_id, block_id, text (the label), value, style, url}."""
        found: list[JSONDict] = []
        for block in self.blocks:
            block_id = str(block.get("block_id", ""))
            found += [_button_view(e, block_id) for e in _elements(block) if e.get("type") == "button"]
        return found

    def button(self, text_contains: str) -> JSONDict:
        found = [button for button in self.buttons() if text_contains in button["text"]]
        assert found, f"no button with {text_contains!r} in {[button['text'] for button in self.buttons()]}"
        return found[0]

    def plain(self) -> str:
        """All visible text: the text, then section/context/header texts, fields and button labels of the blocks."""
        texts = [self.text] if self.text else []
        return "\n".join(texts + [text for block in self.blocks for text in _block_texts(block)])
