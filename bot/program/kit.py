"""The referral kit (`[[kit]]`): what customers share besides their link, such as a price list or a photo of the
product. Every file is checked when the program is loaded, so `referral-bot check` finds a missing or oversized one
before a customer does."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from bot.program.sections import Frozen, LocalizedText

MB = 1024 * 1024
# Telegram's limits for a file a bot uploads: sendPhoto takes photos up to 10 MB, sendDocument files up to 50 MB.
LIMITS = {"photo": 10 * MB, "document": 50 * MB}
PHOTO_FORMATS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG: what sendPhoto takes as it is
MAX_ITEMS = 10  # one share button each under the /kit list: more would bury the list under its buttons
_WEB_ADDRESS = re.compile(r"https?://[^\s/?#]+\S*")  # what Telegram takes for a URL button: a host, no spaces
PROGRAM_DIR = "program_dir"  # the validation context key load_program sets: file paths are relative to it


class _Words(LocalizedText):
    @model_validator(mode="before")
    @classmethod
    def _plain_is_english(cls, value: Any) -> Any:
        # `title = "Price list"` is as good as `title = { en = "Price list" }` for a program in one language.
        return {"en": value} if isinstance(value, str) else value


class KitTitle(_Words):
    """An item's name: the inline result's title and its share button, so a few words."""

    en: str = Field(min_length=1, max_length=64)
    es: str | None = Field(default=None, max_length=64)
    fa: str | None = Field(default=None, max_length=64)


class KitText(_Words):
    """What the friend reads with the item; short enough to fit a photo's caption with the link."""

    en: str = Field(min_length=1, max_length=600)
    es: str | None = Field(default=None, max_length=600)
    fa: str | None = Field(default=None, max_length=600)


@dataclass(frozen=True)
class KitFile:
    """A kit file as loaded: uploaded to Telegram once, then reused by the file id stored under its digest."""

    kind: Literal["photo", "document"]
    path: Path
    digest: str  # SHA-256 of the bytes, so a file replaced under the same name is uploaded again
    name: str


class KitItem(Frozen):
    title: KitTitle
    text: KitText
    url: str | None = Field(default=None, max_length=1000)
    photo: str | None = None  # a JPEG or PNG, sent as a photo
    document: str | None = None  # any file, sent as a document (a PDF price list, a brochure)
    _file: KitFile | None = PrivateAttr(default=None)

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not _WEB_ADDRESS.fullmatch(value):
            raise ValueError(f"{value!r} is not a web address: write it in full, starting with https://")
        return value

    @field_validator("photo", "document")
    @classmethod
    def _usable_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        base = Path((info.context or {}).get(PROGRAM_DIR, "."))
        return str(_checked(base / Path(value).expanduser(), value, info.field_name or "document"))

    @model_validator(mode="after")
    def _something_to_share(self) -> KitItem:
        if self.photo is not None and self.document is not None:
            raise ValueError("an item has a photo or a document, not both (a Telegram message carries one file)")
        if self.url is None and self.photo is None and self.document is None:
            raise ValueError("an item needs something to share: a url, a photo or a document")
        if not self.title.en.strip() or not self.text.en.strip():
            raise ValueError("an item needs a title and a text")
        kind: Literal["photo", "document"] = "photo" if self.photo is not None else "document"
        path = self.photo or self.document
        if path is not None:
            self._file = KitFile(kind, Path(path), _digest(Path(path)), Path(path).name)
        return self

    @property
    def file(self) -> KitFile | None:
        return self._file


def _checked(path: Path, written: str, kind: str) -> Path:
    """The file, resolved, once Telegram would take it; otherwise a message that says what to fix."""
    shown = f"{kind} file {written!r}" + ("" if path.is_absolute() and written == str(path) else f" ({path})")
    if not path.exists():
        raise ValueError(f"{shown} does not exist (a path is relative to the program file's folder)")
    if not path.is_file():
        raise ValueError(f"{shown} is not a file")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ValueError(f"{shown} cannot be read ({exc.strerror})") from None
    size, limit = path.stat().st_size, LIMITS[kind]
    if size == 0:
        raise ValueError(f"{shown} is empty")
    if size > limit:
        hint = " (send it as a document, up to 50 MB)" if kind == "photo" else ""
        raise ValueError(f"{shown} is {size / MB:.1f} MB; Telegram takes a {kind} of up to {limit // MB} MB{hint}")
    if kind == "photo" and not head.startswith(PHOTO_FORMATS):
        raise ValueError(f"{shown} is not a JPEG or PNG image (send other files as a document)")
    return path.resolve()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MB):
            sha.update(chunk)
    return sha.hexdigest()


def _distinct_titles(items: tuple[KitItem, ...]) -> tuple[KitItem, ...]:
    titles = [item.title.en.strip().casefold() for item in items]
    if len(set(titles)) != len(titles):
        raise ValueError("kit items need distinct titles: shares are counted per item, by its title")
    return items


# Shares are counted by the item's English title, so two items may not share one.
Kit = Annotated[tuple[KitItem, ...], Field(max_length=MAX_ITEMS), AfterValidator(_distinct_titles)]
