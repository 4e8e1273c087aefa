"""Files a bot sends through the Telegram emulator. As with the Bot API, an uploaded photo or document gets a file_id
that sends it again without the bytes, in a message or in an inline result (InlineQueryResultCachedPhoto and
InlineQueryResultCachedDocument); an id of one kind is refused as the other, and URLs are not fetched."""

from dataclasses import dataclass
from typing import Any

from sandbox.telegram_entities import JSONDict, bad_request, message_text

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}  # Telegram's ids show their kind too
_CACHED = {"photo": "photo_file_id", "document": "document_file_id"}  # the inline result types of a stored file


class Uploaded(bytes):
    """A file part of a multipart request: its bytes, and the name the client gave it."""

    filename: str | None = None

    @classmethod
    def named(cls, data: bytes, filename: str | None) -> "Uploaded":
        uploaded = cls(data)
        uploaded.filename = filename
        return uploaded


@dataclass(frozen=True)
class StoredFile:
    kind: str  # photo | document
    data: bytes
    file_id: str
    name: str | None = None


class FileStore:
    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}

    def take(self, value: Any, kind: str) -> StoredFile:
        """The file a send names: uploaded with it, or a file_id of one uploaded before."""
        if isinstance(value, str) and value in self._files:
            stored = self._files[value]
            if stored.kind != kind:
                raise bad_request(f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}")
            return stored
        if not isinstance(value, bytes):
            raise bad_request(
                f"there is no {kind} in the request" if value is None else "wrong file identifier specified"
            )
        if kind == "photo" and not value.startswith(_IMAGE_MAGIC):
            raise bad_request("IMAGE_PROCESS_FAILED")
        if not value:
            raise bad_request("file must be non-empty")
        file_id = f"{_ID_PREFIX[kind]}{len(self._files) + 1:06d}"
        self._files[file_id] = StoredFile(kind, bytes(value), file_id, getattr(value, "filename", None))
        return self._files[file_id]

    def check_results(self, results: list[JSONDict]) -> None:
        """What answerInlineQuery checks of each result beyond its id and keyboard: the fields its type requires,
        its caption or message text, and that a cached file is one this bot sent."""
        for result in results:
            kind = result.get("type")
            if kind in ("article", "document") and not str(result.get("title") or "").strip():
                raise bad_request("RESULT_TITLE_EMPTY")
            if kind == "article" and not isinstance(result.get("input_message_content"), dict):
                raise bad_request("can't parse inline query result: input_message_content is required")
            if kind in _CACHED and _CACHED[kind] in result:
                self.take(str(result[_CACHED[kind]]), str(kind))
            if "caption" in result:
                message_text(result["caption"], result.get("parse_mode"), result.get("caption_entities"), caption=True)


def media_of(file_id: str, photo: bytes | None, document: bytes | None, name: str | None) -> JSONDict:
    """A sent file as a Message carries it: a document, or a photo in its sizes (one here)."""
    ids = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
    if document is not None:
        return {"document": ids | {"file_size": len(document)} | ({"file_name": name} if name else {})}
    png = photo or b""
    is_png = png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) >= 24  # width and height open the IHDR chunk
    size = {"width": int.from_bytes(png[16:20]), "height": int.from_bytes(png[20:24])} if is_png else {"width": 512}
    return {"photo": [ids | {"file_size": len(png), "height": 512} | size]}
