"""Formatted text as the page draws it: runs of plain text, each with its marks (bold, italic, ...) and any link.
The page builds its nodes from these runs with textContent, so nothing a person typed is ever read as HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from itertools import pairwise
from typing import Any

from rich.console import Console
from rich.emoji import Emoji
from rich.style import Style

from bot.app.demo_render import slack_text, utf16_positions

JSONDict = dict[str, Any]
Links = Callable[[str], JSONDict]  # a URL -> {"href": ...} and how the page should follow it

_TELEGRAM_MARKS = {
    "bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "spoiler": "spoiler", "code": "code",
    "pre": "pre", "blockquote": "quote", "expandable_blockquote": "quote", "mention": "mention",
    "hashtag": "mention", "bot_command": "mention", "email": "u", "phone_number": "u",
}  # fmt: skip
_LINKS = ("url", "text_link")
_BARE_URL = re.compile(r"https?://[^\s<>]+[^\s<>.,;:!?)]", re.IGNORECASE)
_CONSOLE = Console(width=10_000, color_system=None)  # only reads styles back; never prints


def telegram_runs(text: str, entities: Iterable[Mapping[str, Any]], links: Links) -> list[JSONDict]:
    """Telegram's text and entities as runs; entity offsets count UTF-16 code units, as Telegram does."""
    at = utf16_positions(text)
    spans = [(at[e["offset"]], at[e["offset"] + e["length"]], e) for e in entities]
    spans += _bare_urls(text, spans)
    cuts = sorted({0, len(text), *(start for start, _, _ in spans), *(end for _, end, _ in spans)})
    runs: list[JSONDict] = []
    for start, end in pairwise(cuts):
        active = [(s, t, e) for s, t, e in spans if s <= start and end <= t]
        marks = sorted({_TELEGRAM_MARKS[e["type"]] for _, _, e in active if e["type"] in _TELEGRAM_MARKS})
        run: JSONDict = {"t": text[start:end], "m": marks}
        for s, t, e in active:
            if e["type"] in _LINKS:  # a url entity links to its own text
                run |= links(str(e.get("url") or text[s:t]))
        runs.append(run)
    return runs


def _bare_urls(text: str, spans: list[tuple[int, int, Mapping[str, Any]]]) -> list[tuple[int, int, JSONDict]]:
    """Links typed as plain text: Telegram's apps make them links too, where no entity covers them already."""
    found = [(m.start(), m.end(), {"type": "url"}) for m in _BARE_URL.finditer(text)]
    return [url for url in found if not any(s < url[1] and url[0] < t for s, t, _ in spans)]


def slack_runs(mrkdwn: str, names: Mapping[str, str], links: Links) -> list[JSONDict]:
    """Slack mrkdwn as runs, parsed as the terminal demo parses it; its styles read back as the page's marks."""
    runs: list[JSONDict] = []
    for piece in slack_text(mrkdwn, names).render(_CONSOLE):
        style = piece.style or Style()
        colour = style.color.name if style.color else ""
        marks = [mark for mark, on in (("b", style.bold), ("i", style.italic), ("s", style.strike)) if on]
        if colour == "cyan":
            marks.append("code")
        elif colour == "blue" and not style.link:  # a mention: blue like a link, but going nowhere
            marks.append("mention")
        run: JSONDict = {"t": piece.text, "m": marks}
        runs.append(run | links(style.link) if style.link else run)
    return runs


def plain(text: str) -> str:
    """Plain text as Slack shows it, with :emoji: codes drawn."""
    return Emoji.replace(text)
