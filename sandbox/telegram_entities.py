"""What Telegram does to the text and keyboards a bot sends: HTML parsed into entities, and validation.

The parser follows tdlib's `parse_html` and its error texts, but is stricter about `&`: Telegram keeps an
unknown `&...` literally; here it fails, so a bot that forgets to escape user input fails in tests."""

import re
from dataclasses import dataclass
from typing import Any

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

_TAG_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#x([0-9a-fA-F]{1,8})|#([0-9]{1,9})|([a-zA-Z]+));?")
_SPACES = " \t\r\n\v\f"
_SPECIAL = re.compile(r"[&<]")
_ATTRIBUTE = re.compile(
    r"""[ \t\r\n\v\f]*(?:(?P<close>>)|(?P<name>[^ \t\r\n\v\f=>]+)[ \t\r\n\v\f]*"""
    r"""(?:=[ \t\r\n\v\f]*(?:"(?P<dq>[^"]*)"?|'(?P<sq>[^']*)'?|(?P<bare>[A-Za-z0-9.\-]*)))?)"""
)
_END_TAG = re.compile(r"</([^ \t\r\n\v\f>]*)[ \t\r\n\v\f]*(>?)")
_URL = re.compile(r"(?:https?://[^\s/?#]+|tg://)\S*", re.IGNORECASE)
_BUTTON = "can't parse inline keyboard button: "
_ARGUMENT_PREFIXES = {
    ("a", "href"): "",
    ("tg-emoji", "emoji-id"): "",
    ("code", "class"): "language-",
    ("span", "class"): "tg-",
}
_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)  # fmt: skip


@dataclass(eq=False)
class ApiError(Exception):
    """A Bot API error answer, exactly as Telegram would send it back."""

    error_code: int
    description: str
    retry_after: int | None = None

    def payload(self) -> JSONDict:
        body = {"ok": False, "error_code": self.error_code, "description": self.description}
        return body | ({"parameters": {"retry_after": self.retry_after}} if self.retry_after is not None else {})


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(match: re.Match[str]) -> str | None:
    hex_digits, decimal, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(hex_digits, 16) if hex_digits is not None else int(decimal)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _decode_attribute(value: str) -> str:
    """Inside attribute values tdlib keeps an unknown `&...` literally, so this is lenient."""
    return _ENTITY.sub(lambda match: _decode_entity(match) or match.group(0), value)


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    char_start: int


class _HtmlParser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.chars = 0
        self.utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSONDict] = []

    def run(self) -> tuple[str, list[JSONDict]]:
        while self.pos < len(self.src):
            found = _SPECIAL.search(self.src, self.pos)
            stop = found.start() if found else len(self.src)
            self._emit(self.src[self.pos : stop])
            self.pos = stop
            if found is None:
                break
            if found.group() == "&":
                self._entity()
            elif self.src.startswith("</", self.pos):
                self._end_tag()
            else:
                self._start_tag()
        if self.stack:
            raise self._error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)  # the Bot API shows a language only on `pre`
        return "".join(self.out), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def _emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.chars += len(chunk)
        self.utf16 += utf16_len(chunk)

    def _error(self, reason: str, pos: int | None = None, tail: str = "") -> ApiError:
        where = "" if pos is None else f" at byte offset {len(self.src[:pos].encode())}"
        return bad_request(f"can't parse entities: {reason}{where}{tail}")

    def _entity(self) -> None:
        match = _ENTITY.match(self.src, self.pos)
        char = _decode_entity(match) if match else None
        if match is None or char is None:
            raise self._error('Character "&" must be escaped as "&amp;"', self.pos)
        self._emit(char)
        self.pos = match.end()

    def _start_tag(self) -> None:
        begin, end = self.pos, self.pos + 1
        while end < len(self.src) and self.src[end] not in _SPACES + ">":
            end += 1
        if end >= len(self.src):
            raise self._error("Unclosed start tag", begin)
        name = self.src[begin + 1 : end].lower()
        if name not in _TAG_TYPES:
            raise self._error(f'Unsupported start tag "{name}"', begin)
        argument, self.pos = self._attributes(name, end, begin)
        if name == "span" and argument != "spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_OpenTag(name, argument, self.utf16, self.chars))

    def _attributes(self, tag: str, pos: int, begin: int) -> tuple[str, int]:
        """Reads attributes up to the closing `>`; returns the tag's argument and the position after `>`."""
        argument = ""
        while True:
            match = _ATTRIBUTE.match(self.src, pos)
            if match is None or (match.end() == len(self.src) and not match.group("close")):
                raise self._error("Unclosed start tag", begin)
            if match.group("close"):
                return argument, match.end()
            pos = match.end()
            if match.group("bare") is not None and self.src[pos] not in _SPACES + ">":
                raise self._error("Unexpected end of name token", match.start("bare"))
            raw = match.group("dq") or match.group("sq") or (match.group("bare") or "").lower()
            argument = _tag_argument(tag, match.group("name").lower(), _decode_attribute(raw), argument)

    def _end_tag(self) -> None:
        begin = self.pos
        if not self.stack:
            raise self._error("Unexpected end tag", begin)
        match = _END_TAG.match(self.src, begin)
        if match is None or not match.group(2):
            raise self._error("Unclosed end tag", begin)
        opened = self.stack.pop()
        found = match.group(1).lower()
        if found and found != opened.name:
            tail = f', expected "</{opened.name}>", found "</{match.group(1)}>"'
            raise self._error("Unmatched end tag", begin, tail)
        self.pos = match.end()
        self._close(opened)

    def _close(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.utf16_start
        if length == 0:
            return  # Telegram drops empty entities
        entity: JSONDict = {"type": _TAG_TYPES[tag.name], "offset": tag.utf16_start, "length": length}
        if tag.name == "a":
            url = _link(tag.argument or "".join(self.out)[tag.char_start :])
            if url is None:
                return  # like Telegram, an invalid link keeps its text and loses the entity
            entity["url"] = url
        elif tag.name == "code" and tag.argument:
            entity["language"] = tag.argument
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.argument
        elif tag.name == "blockquote" and tag.argument:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "pre" and self.entities:
            last = self.entities[-1]
            same_span = (last["offset"], last["length"]) == (tag.utf16_start, length)
            if last["type"] == "code" and same_span and "language" in last:
                last["type"] = "pre"  # <pre><code class="language-x"> is one pre entity with a language
                return
        self.entities.append(entity)


def _link(url: str) -> str | None:
    url = url if "://" in url else f"http://{url}"
    return url if _URL.fullmatch(url) else None


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    prefix = _ARGUMENT_PREFIXES.get((tag, attribute))
    return value.removeprefix(prefix) if prefix is not None and value.startswith(prefix) else current


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Visible text and its entities, or ApiError 400 "can't parse entities" as Telegram answers."""
    return _HtmlParser(source).run()


def format_text(raw: Any, parse_mode: Any, entities: Any) -> tuple[str, list[JSONDict]]:
    text = "" if raw is None else str(raw)
    mode = str(parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r} (the sandbox emulates HTML only)")
    return text, list(entities) if isinstance(entities, list) else []


def message_text(raw: Any, parse_mode: Any, entities: Any, *, caption: bool = False) -> tuple[str, list[JSONDict]]:
    """The visible text and entities of a text or caption, once it passes Telegram's checks."""
    text, parsed = format_text(raw, parse_mode, entities)
    if not caption and not text.strip():
        raise bad_request("message text is empty")
    if len(text) > (MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH):
        raise bad_request("message caption is too long" if caption else "message is too long")
    return text, parsed


def check_markup(markup: Any) -> JSONDict | None:
    """The reply_markup as sent, once it passes Telegram's checks."""
    if markup is None:
        return None
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        for button in _buttons(markup["inline_keyboard"]):
            _check_inline_button(button)
    elif isinstance(markup, dict) and "keyboard" in markup:
        for button in _buttons(markup["keyboard"]):
            if not isinstance(button, str) and not isinstance(_as_dict(button).get("text"), str):
                raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    elif not isinstance(markup, dict) or not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _as_dict(value: Any) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _buttons(rows: Any) -> list[Any]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return [button for row in rows for button in row]


def _check_inline_button(button: Any) -> None:
    if not isinstance(_as_dict(button).get("text"), str):
        raise bad_request(_BUTTON + 'Field "text" must be of type String')
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if len(actions) != 1:
        raise bad_request(_BUTTON + f"exactly one optional field must be used, not {actions}")
    data = button.get("callback_data")
    if "callback_data" in button and not (isinstance(data, str) and 0 < len(data.encode()) <= MAX_CALLBACK_DATA_BYTES):
        raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _URL.fullmatch(str(button["url"])):
        raise bad_request("BUTTON_URL_INVALID")


def check_inline_results(results: Any) -> list[JSONDict]:
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        raise bad_request("can't parse inline query results JSON object")
    if len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH")
    ids = [str(result.get("id", "")) for result in results]
    if any(not 0 < len(result_id.encode()) <= 64 for result_id in ids):
        raise bad_request("RESULT_ID_INVALID")
    if len(set(ids)) != len(ids):
        raise bad_request("RESULT_ID_DUPLICATE")
    for result in results:
        check_markup(result.get("reply_markup"))
        content = _as_dict(result.get("input_message_content"))
        if "message_text" in content:
            message_text(content["message_text"], content.get("parse_mode"), content.get("entities"))
    return results
