"""The Slack side of the page, for each person on the team: the alert channel and its threads, their DM with the
bot, what only they see, their open modal and their App Home, from what the emulator recorded, as JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from bot.app.demo_transcript import ALERTS, TEAM
from bot.app.playground.cast import JSONDict, slack_names, slack_people
from bot.app.playground.formatting import plain, slack_runs
from bot.app.playground.slack_side import SlackSide
from sandbox.slack_models import SlackMessage

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG and JPEG, what the page shows as pictures
SAFE_SCHEMES = ("http", "https", "mailto", "tel")


def slack_snapshot(side: SlackSide) -> JSONDict:
    channel = side.slack.messages(ALERTS)
    return {
        "people": slack_people(),
        "channel": {"id": ALERTS, "name": "referrals"},
        "views": {user: _person(side, user, channel) for user, _, _ in TEAM},
    }


def _person(side: SlackSide, user: str, channel: list[SlackMessage]) -> JSONDict:
    ephemerals = side.slack.ephemerals(user)
    dm = side.dm(user)
    modals = [view for view in side.slack.open_views(user) if view["id"] not in side.closed]
    home = side.slack.home(user)
    return {
        "channel": _timeline(side, channel + [m for m in ephemerals if m.channel == ALERTS]),
        "dm": _timeline(side, side.slack.messages(dm) + [m for m in ephemerals if m.channel == dm]),
        "modal": _dressed(modals[-1]) if modals else None,
        "home": _dressed(home) if home else None,
    }


def _timeline(side: SlackSide, messages: list[SlackMessage]) -> list[JSONDict]:
    """Messages in the order they were posted (Slack's ts), each with its thread's replies."""
    ordered = sorted(messages, key=lambda message: float(message.ts))
    return [_message(side, m, [_message(side, r) for r in _replies(side, m)]) for m in ordered]


def _replies(side: SlackSide, message: SlackMessage) -> list[SlackMessage]:
    if message.ephemeral_to is not None or message.is_reply:
        return []
    return side.slack.thread(message.channel, message.ts)


def _message(side: SlackSide, message: SlackMessage, replies: list[JSONDict] | None = None) -> JSONDict:
    return {
        "ts": message.ts,
        "blocks": _dressed(message.blocks),
        "runs": slack_runs(message.text, slack_names(), _link) if not message.blocks else [],
        "files": [_file(side, file_id) for file_id in message.files],
        "replies": replies or [],
        "ephemeral": message.ephemeral_to is not None,
        "edited": message.edits > 0,
    }


def _file(side: SlackSide, file_id: str) -> JSONDict:
    found = side.file(file_id)
    if found is None:
        return {"id": file_id, "title": file_id, "image": False}
    is_image = found.content.startswith(IMAGE_MAGIC)
    return {"id": file_id, "title": found.title, "image": is_image, "href": f"/files/slack/{quote(file_id)}"}


def _link(url: str) -> JSONDict:
    return {"href": url} if urlsplit(url).scheme.lower() in SAFE_SCHEMES else {}


def _dressed(node: Any) -> Any:
    """Block Kit as sent, with what the page needs to draw it added: mrkdwn as runs, :emoji: codes drawn, and where
    to load an image the bot uploaded (`slack_file`). The page cannot load outside images: its policy forbids them."""
    if isinstance(node, list):
        return [_dressed(item) for item in node]
    if not isinstance(node, dict):
        return node
    dressed = {key: _dressed(value) for key, value in node.items()}
    kind, text = node.get("type"), node.get("text")
    if kind == "mrkdwn" and isinstance(text, str):
        dressed["runs"] = slack_runs(text, slack_names(), _link)
    elif kind == "plain_text" and isinstance(text, str) and node.get("emoji", True):
        dressed["text"] = plain(text)
    if kind == "rich_text":
        dressed["plain"] = "".join(_rich_texts(node.get("elements", [])))
    slack_file = node.get("slack_file")
    if kind == "image" and isinstance(slack_file, dict) and slack_file.get("id"):
        dressed["src"] = f"/files/slack/{quote(str(slack_file['id']))}"
    return dressed


def _rich_texts(node: Any) -> list[str]:
    if isinstance(node, list):
        return [text for child in node for text in _rich_texts(child)]
    if not isinstance(node, dict):
        return []
    own = [str(node["text"])] if node.get("type") == "text" and "text" in node else []
    return own + _rich_texts(node.get("elements", []))
