"""The phone's side of the page: each person's chat with the bot, from what the emulator recorded, as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from bot.app.playground.cast import JSONDict, Person
from bot.app.playground.formatting import Links, telegram_runs
from bot.app.playground.telegram_side import Card, TelegramSide, is_share_page
from sandbox.telegram_people import SentMessage

SAFE_SCHEMES = ("http", "https", "mailto", "tel", "tg")


def telegram_snapshot(side: TelegramSide) -> JSONDict:
    bot = side.tg.bot_user
    return {
        "bot": {"name": bot["first_name"], "username": bot["username"]},
        "people": [_person(side, person) for person in side.people.values()],
    }


def _person(side: TelegramSide, person: Person) -> JSONDict:
    user_id = person.user.id
    received = side.tg.messages(user_id)
    items = [(m.message_id, 0, _bot_message(side, m)) for m in received]
    sent = _sent(side, user_id)
    items += [(message_id, 0, item) for message_id, item in sent]
    items += [(card.anchors.get(user_id, 0), 1, _card(side, card, person)) for card in side.cards]
    _, offered = side.offered.get(user_id, ("", []))
    return person.to_dict() | {
        "items": [item for _, _, item in sorted(items, key=lambda entry: entry[:2])],
        "keyboard": _reply_keyboard(received, {message_id for message_id, _ in sent}),
        "offered": [_offer(side, result) for result in offered],
        "received": len(received),  # for the count of unread messages beside the name
    }


def _links(side: TelegramSide) -> Links:
    def link(url: str) -> JSONDict:
        if urlsplit(url).scheme.lower() not in SAFE_SCHEMES:
            return {}  # shown as text: a javascript: or data: link is never followed
        payload = side.tg.deep_link_payload(url)
        if payload is not None:
            return {"href": url, "payload": payload}
        return {"href": url, "share": True} if is_share_page(url) else {"href": url}

    return link


def _bot_message(side: TelegramSide, message: SentMessage) -> JSONDict:
    item: JSONDict = {
        "kind": "bot",
        "id": message.message_id,
        "runs": telegram_runs(message.text or message.caption or "", message.entities, _links(side)),
        "buttons": _buttons(side, (message.reply_markup or {}).get("inline_keyboard", [])),
        "edited": message.edited,
    }
    if message.file_id and message.photo is not None:
        item["photo"] = f"/files/telegram/photo/{quote(message.file_id)}"
    elif message.file_id and message.document is not None:
        href = f"/files/telegram/document/{quote(message.file_id)}"
        item["document"] = {"name": message.file_name or "file", "href": href}
    return item


def _sent(side: TelegramSide, user_id: int) -> list[tuple[int, JSONDict]]:
    """What the person sent the bot, as their side of the chat shows it (taps and inline queries show nothing)."""
    shown: list[tuple[int, JSONDict]] = []
    for update_id in side.sent[user_id]:
        message = side.tg.update(update_id).get("message")
        if message is None:
            continue
        contact = message.get("contact")
        text = f"📞 {contact['phone_number']}" if contact else str(message.get("text", ""))
        shown.append((int(message["message_id"]), {"kind": "me", "id": message["message_id"], "text": text}))
    return shown


def _card(side: TelegramSide, card: Card, viewer: Person) -> JSONDict:
    sharer = side.people[card.sharer].user.first_name
    item: JSONDict = {
        "kind": "card",
        "mine": card.sharer == viewer.user.id,
        "from": sharer,
        "runs": telegram_runs(card.text, card.entities, _links(side)),
        "buttons": _buttons(side, (card.markup or {}).get("inline_keyboard", [])),
    }
    if card.photo:
        item["photo"] = f"/files/telegram/photo/{quote(card.photo)}"
    return item


def _offer(side: TelegramSide, result: JSONDict) -> JSONDict:
    """An inline result as Telegram lists it above the keyboard: its title and description, or its picture."""
    photo = result.get("photo_file_id")
    return {
        "id": result.get("id"),
        "title": str(result.get("title") or result.get("caption") or "Card"),
        "description": str(result.get("description") or ""),
        "photo": f"/files/telegram/photo/{quote(str(photo))}" if photo else None,
    }


def _buttons(side: TelegramSide, rows: Iterable[Iterable[JSONDict]]) -> list[list[JSONDict]]:
    return [[_button(side, button) for button in row] for row in rows]


def _button(side: TelegramSide, button: JSONDict) -> JSONDict:
    shown: JSONDict = {"text": button.get("text", "")}
    if "callback_data" in button:
        return shown | {"kind": "callback", "data": button["callback_data"]}
    if "url" in button:
        link: JSONDict = _links(side)(str(button["url"]))
        return shown | {"kind": "url"} | link
    if "copy_text" in button:
        return shown | {"kind": "copy", "copy": button["copy_text"].get("text", "")}
    chosen = button.get("switch_inline_query_chosen_chat")
    if chosen is not None or "switch_inline_query" in button:
        query = chosen.get("query", "") if isinstance(chosen, dict) else button.get("switch_inline_query", "")
        return shown | {"kind": "share", "query": query}
    return shown | {"kind": "other"}


def _reply_keyboard(received: list[SentMessage], sent_ids: set[int]) -> list[list[JSONDict]] | None:
    """The keyboard under the text box: the last one the bot sent, unless removed since, or used once when it was
    a one-time keyboard."""
    current: SentMessage | None = None
    for message in sorted(received, key=lambda m: m.message_id):
        markup = message.reply_markup or {}
        if "keyboard" in markup:
            current = message
        elif markup.get("remove_keyboard"):
            current = None
    if current is None or current.reply_markup is None:
        return None
    if current.reply_markup.get("one_time_keyboard") and any(i > current.message_id for i in sent_ids):
        return None
    rows = current.reply_markup["keyboard"]
    return [[_key(button) for button in row] for row in rows]


def _key(button: Any) -> JSONDict:
    if isinstance(button, str):
        return {"text": button, "contact": False}
    return {"text": button.get("text", ""), "contact": bool(button.get("request_contact"))}
