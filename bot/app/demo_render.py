"""How the demo shows a chat message in a terminal: Telegram's entities and Slack's mrkdwn as the formatting a person
sees in the app, not as tags and asterisks, and buttons that are never broken across lines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.emoji import Emoji
from rich.measure import Measurement
from rich.panel import Panel
from rich.rule import Rule
from rich.style import Style
from rich.text import Text

PANEL_WIDTH = 92
NEUTRAL = "reverse"  # a button with no colour of its own
SLACK_BUTTON = {"primary": "bold white on green", "danger": "bold white on red"}
_GAP = 2  # spaces between two buttons on a line

_TELEGRAM_STYLES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "reverse dim",
    "code": "cyan",
    "pre": "cyan",
    "blockquote": "italic",
    "expandable_blockquote": "italic",
    "url": "underline blue",
    "email": "underline blue",
    "phone_number": "underline blue",
    "mention": "blue",
    "hashtag": "blue",
    "bot_command": "blue",
}
_SLACK_STYLES = {"bold": "bold", "italic": "italic", "strike": "strike", "code": "cyan", "pre": "cyan"}
_MENTION = "bold blue"


def _emphasis(marker: str, name: str) -> str:
    """Slack formats `*x*` only when the marks are not inside a word and the text does not start or end with a space."""
    mark = re.escape(marker)
    return rf"(?<!\w){mark}(?=\S)(?P<{name}>[^{mark}\n]+?)(?<=\S){mark}(?!\w)"


_SLACK_TOKEN = re.compile(
    r"<(?P<link>[^<>\n]+)>|```(?P<pre>.+?)```|`(?P<code>[^`\n]+)`|"
    + "|".join(_emphasis(marker, name) for marker, name in (("*", "bold"), ("_", "italic"), ("~", "strike"))),
    re.DOTALL,
)


def telegram_text(text: str, entities: Iterable[Mapping[str, Any]]) -> Text:
    """The text with its entities applied; Telegram counts their offsets in UTF-16 code units, not characters."""
    at = utf16_positions(text)
    shown = Text(text)
    for entity in entities:
        start, end = at[entity["offset"]], at[entity["offset"] + entity["length"]]
        if entity["type"] == "text_link":
            shown.stylize(Style(color="blue", underline=True, link=entity["url"]), start, end)
        elif entity["type"] in _TELEGRAM_STYLES:
            shown.stylize(_TELEGRAM_STYLES[entity["type"]], start, end)
    return shown


def utf16_positions(text: str) -> dict[int, int]:
    """Telegram's entity offsets count UTF-16 units: where each falls in the Python string."""
    positions, units = {0: 0}, 0
    for index, char in enumerate(text, 1):
        units += 2 if ord(char) > 0xFFFF else 1
        positions[units] = index
    return positions


def slack_text(mrkdwn: str, names: Mapping[str, str], style: str = "") -> Text:
    """Slack mrkdwn as Slack draws it: emphasis as styles, links as their labels, mentions as names."""
    shown = Text()
    position = 0
    for match in _SLACK_TOKEN.finditer(mrkdwn):
        shown.append(_plain(mrkdwn[position : match.start()]), style)
        kind = str(match.lastgroup)
        inner = match.group(kind)
        if kind == "link":
            shown.append_text(_link(inner, names, style))
        elif kind in ("code", "pre"):
            shown.append(_entities(inner), _and(style, _SLACK_STYLES[kind]))
        else:  # emphasis may hold more emphasis, as in *_bold italic_*
            shown.append_text(slack_text(inner, names, _and(style, _SLACK_STYLES[kind])))
        position = match.end()
    shown.append(_plain(mrkdwn[position:]), style)
    return shown


def _and(style: str, more: str) -> str:
    return f"{style} {more}".strip()


def _entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(text: str) -> str:
    return Emoji.replace(_entities(text))  # Slack draws :tada: as the emoji


def _link(inside: str, names: Mapping[str, str], style: str) -> Text:
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        return Text("@" + names.get(target[1:], label or target[1:]), _and(style, _MENTION))
    if target.startswith("#"):
        return Text("#" + (label or target[1:]), _and(style, _MENTION))
    if target.startswith("!"):  # <!channel>, <!here>, or a user group or date with its own label
        return Text(label or "@" + target[1:].split("^")[0], _and(style, _MENTION))
    return Text(_entities(label or target), Style.parse(_and(style, "blue underline")) + Style(link=target))


class Keyboard:
    """Rows of buttons. A row too wide for the screen wraps between two buttons, never inside a label."""

    def __init__(self, rows: Iterable[Sequence[tuple[str, str]]]) -> None:
        self.rows = [[Text(f" {label} ", style) for label, style in row] for row in rows if row]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for row in self.rows:
            for line in _lines(row, options.max_width):
                shown = Text(" " * _GAP).join(line)
                shown.no_wrap, shown.overflow = True, "ellipsis"  # only a label wider than the screen is cut
                yield shown

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        buttons = [button.cell_len for row in self.rows for button in row]
        widest = [sum(button.cell_len + _GAP for button in row) - _GAP for row in self.rows]
        return Measurement(max(buttons, default=0), max(widest, default=0))


def _lines(row: Sequence[Text], width: int) -> list[list[Text]]:
    lines: list[list[Text]] = [[]]
    used = 0
    for button in row:
        if lines[-1] and used + _GAP + button.cell_len > width:
            lines.append([])
        used = button.cell_len if not lines[-1] else used + _GAP + button.cell_len
        lines[-1].append(button)
    return lines


def telegram_parts(
    text: str, entities: Iterable[Mapping[str, Any]], markup: Mapping[str, Any] | None
) -> list[RenderableType]:
    """A Telegram message: its text, then its inline keyboard or reply keyboard, row by row as Telegram lays it out."""
    rows = [*(markup or {}).get("inline_keyboard", []), *(markup or {}).get("keyboard", [])]
    parts: list[RenderableType] = [telegram_text(text, entities)]
    if rows:
        parts += [Text(), Keyboard([(button["text"], NEUTRAL) for button in row] for row in rows)]
    return parts


def slack_parts(text: str, blocks: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> list[RenderableType]:
    """A Slack message: its blocks as Slack draws them, or its text when it has none."""
    if not blocks:
        return [slack_text(text, names)]
    parts: list[RenderableType] = []
    for block in blocks:
        kind = block["type"]
        if kind == "section":
            texts = [block["text"]] if "text" in block else []
            parts += [_slack_field(field, names) for field in [*texts, *block.get("fields", [])]]
        elif kind == "context":
            line = Text("  ").join(_slack_field(e, names) for e in block["elements"] if "text" in e)
            line.stylize("dim")  # Slack draws context small and grey
            parts.append(line)
        elif kind == "header":
            parts.append(Text(block["text"]["text"], "bold"))
        elif kind == "divider":
            parts.append(Rule(style="dim"))
        elif kind == "actions":
            buttons = [e for e in block["elements"] if e.get("type") == "button"]
            row = [(e["text"]["text"], SLACK_BUTTON.get(e.get("style", ""), NEUTRAL)) for e in buttons]
            parts += [Text(), Keyboard([row])]
    return parts


def _slack_field(field: Mapping[str, Any], names: Mapping[str, str]) -> Text:
    return slack_text(field["text"], names) if field.get("type") == "mrkdwn" else Text(field["text"])


def chat_panel(parts: Sequence[RenderableType], title: str, colour: str, width: int = PANEL_WIDTH) -> Panel:
    """One message as its app shows it, titled with where it appears."""
    return Panel(Group(*parts), title=Text(title), title_align="left", border_style=colour, width=width)


def slack_form_parts(view: Mapping[str, Any], answers: Sequence[str]) -> list[RenderableType]:
    """A Slack modal with what the person typed into its fields, and its buttons."""
    parts: list[RenderableType] = [Text(view["title"]["text"], "bold")]
    inputs = [block for block in view["blocks"] if block["type"] == "input"]
    for block, answer in zip(inputs, answers, strict=True):
        parts += [Text(), Text(block["label"]["text"], "bold"), Panel(Text(answer), border_style="dim")]
        if "hint" in block:
            parts.append(Text(block["hint"]["text"], "dim"))
    submit = view.get("submit", {}).get("text", "Submit")
    cancel = view.get("close", {}).get("text", "Cancel")
    return [*parts, Text(), Keyboard([[(cancel, NEUTRAL), (submit, SLACK_BUTTON["primary"])]])]
