"""The referral kit as a customer sees it: the /kit list, each file in their own chat, and the cards they share,
each carrying their personal link."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.models import Button, Customer, Outgoing
from bot.core.validation import parse_count
from bot.program.kit import KitFile, KitItem
from bot.program.texts import Texts

KIT_FILE = "kit_file"  # the kind of outbox row that sends a kit file, uploading it the first time
RESULT_PREFIX = "kit-"  # a kit card's inline result id: "kit-2" is the second item
_QUERY = re.compile(r"^\s*kit(?:\s+(\d{1,3}))?\s*$", re.IGNORECASE)  # what a share button types: "kit 2"
FileIds = Mapping[tuple[str, str], str]  # (kind, digest) → Telegram's file_id, for the files uploaded so far


@dataclass(frozen=True)
class KitCard:
    """A kit item as an inline result. With a file Telegram already has (`file_id`) the card is that photo or
    document with `text` as its caption; otherwise `text` is a message of its own."""

    result_id: str
    title: str
    description: str
    text: str
    buttons: tuple[Button, ...]
    kind: str = "article"  # article | photo | document
    file_id: str | None = None


def kit_query(number: int) -> str:
    return f"kit {number}"


def wanted(query: str, items: int) -> list[int] | None:
    """The item numbers an inline query asks for: "kit 2" one, "kit" (or a number not in the kit) all of them;
    None when the query is not about the kit."""
    match = _QUERY.match(query)
    if match is None:
        return None
    number = int(match.group(1) or 0)
    return [number] if 1 <= number <= items else list(range(1, items + 1))


def file_payload(message: Outgoing, file: KitFile) -> dict[str, Any]:
    """The outbox payload of a kit file sent to a customer's chat; handlers/telegram/kit_sender.py reads it."""
    described = {"kind": file.kind, "path": str(file.path), "digest": file.digest, "name": file.name}
    return {**message.to_payload(), "kind": KIT_FILE, "file": described}


class KitScreens:
    def __init__(self, texts: Texts) -> None:
        self._texts = texts
        self._kit = texts.program.kit

    def listing(self, customer: Customer) -> list[tuple[Outgoing, KitFile | None]]:
        """/kit: the list with a share button per item, then each item's file in the customer's own chat (which
        uploads it to Telegram the first time, so the share cards can carry it from then on)."""
        locale = customer.language
        if not self._kit:
            return [(self._texts.to(customer, "kit_empty"), None)]
        items = [self._words(item, locale) for item in self._kit]
        listing = self._texts.to(customer, "kit", items=items)
        rows = tuple((self._share_button(locale, number, item),) for number, item in enumerate(self._kit, start=1))
        shown: list[tuple[Outgoing, KitFile | None]] = [(Outgoing(listing.chat_id, listing.text, rows), None)]
        for number, item in enumerate(self._kit, start=1):
            if item.file is not None:
                caption = self._texts.to(customer, "kit_item", **self._words(item, locale))
                buttons = ((self._share_button(locale, number, item),), self._open_button(locale, item))
                shown.append((Outgoing(caption.chat_id, caption.text, tuple(row for row in buttons if row)), item.file))
        return shown

    def cards(self, customer: Customer, numbers: list[int], file_ids: FileIds) -> list[KitCard]:
        return [self._card(customer, number, self._kit[number - 1], file_ids) for number in numbers]

    def _card(self, customer: Customer, number: int, item: KitItem, file_ids: FileIds) -> KitCard:
        locale, file = customer.language, item.file
        file_id = file_ids.get((file.kind, file.digest)) if file is not None else None
        words = self._words(item, locale)
        link = self._texts.links.personal(customer.referral_code, "kit")
        # A caption has room for 1024 characters: the item's url goes on its Open button rather than in the text.
        text = self._texts.to(customer, "kit_card", **(words | {"with_url": file_id is None}), link=link).text
        program = self._texts.program.program.name
        invite = Button(self._texts.label(locale, "invite_button", program=program), "url", link)
        return KitCard(
            result_id=f"{RESULT_PREFIX}{number}",
            title=words["title"],
            description=words["text"],
            text=text,
            buttons=(*self._open_button(locale, item), invite),
            kind=file.kind if file is not None and file_id is not None else "article",
            file_id=file_id,
        )

    def item_named(self, result_id: str) -> KitItem | None:
        """The item a chosen inline result was, by its result id."""
        number = parse_count(result_id.removeprefix(RESULT_PREFIX), 1, len(self._kit), ascii_only=True)
        return self._kit[number - 1] if number is not None else None

    def _share_button(self, locale: str, number: int, item: KitItem) -> Button:
        label = self._texts.label(locale, "kit_share", number=number, title=item.title.get(locale))
        return Button(label, "share_chat", kit_query(number))

    def _open_button(self, locale: str, item: KitItem) -> tuple[Button, ...]:
        return (Button(self._texts.label(locale, "kit_open"), "url", item.url),) if item.url else ()

    @staticmethod
    def _words(item: KitItem, locale: str) -> dict[str, Any]:
        return {"title": item.title.get(locale), "text": item.text.get(locale), "url": item.url, "with_url": False}
