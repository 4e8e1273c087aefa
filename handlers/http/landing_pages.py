"""The landing and unsubscribe pages as HTML: the visitor's language, the page's words from
`messages/<locale>/landing.toml`, and the jinja2 templates in handlers/http/pages/."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

from messages.renderer import RTL_LOCALES, clean

HERE = Path(__file__).parent
LANGUAGES = {"en": "English", "es": "Español", "fa": "فارسی"}  # each in its own words, as a switcher shows them
FIRST_STRONG_ISOLATE, POP_ISOLATE = "\u2068", "\u2069"
# Pages carry a visitor's token or a person's name: no cache, shared or private, may keep them.
PAGE_HEADERS = {"Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"}


class PageStrings(Protocol):
    """Where the pages' words come from: messages.Renderer (English fallback, TEMPLATES_DIR overrides win)."""

    def strings(self, locale: str, file: str) -> dict[str, str]: ...


def choose_locale(request: web.Request, default: str) -> tuple[str, bool]:
    """The page's language and whether the visitor chose it: `?lang=` first, then Accept-Language, then `default`."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(request.headers.get("Accept-Language", "")[:500].split(",")):
        tag, _, params = part.partition(";")
        base = tag.strip().split("-")[0].lower()
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, position, base))
    if ranked:
        return min(ranked)[2], False
    return (default if default in LANGUAGES else "en"), False


def _clean(value: Any) -> Any:
    """Hostile characters out of every value; a macro's output is already markup made of cleaned values."""
    return value if isinstance(value, Markup) else clean(value)


def isolated(name: str) -> str:
    """A person's name set apart from the sentence's direction, so a Latin name keeps its place in Persian text."""
    return f"{FIRST_STRONG_ISOLATE}{clean(name)}{POP_ISOLATE}"


def mask_address(address: str) -> str:
    """An e-mail address as a page may show it to whoever holds the link: a***@example.com."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"


class Words(Mapping[str, str]):
    """A page's words, each rendered on first use with the page's context (the program, the referrer's name)."""

    def __init__(self, pages: Pages, strings: dict[str, str], context: dict[str, str]) -> None:
        self._pages, self._strings, self._context = pages, strings, context

    def __getitem__(self, key: str) -> str:
        return self._pages.label(self._strings.get(key, key), self._context)

    def __contains__(self, key: object) -> bool:
        return key in self._strings  # Mapping's own would ask __getitem__, which answers every key

    def __iter__(self) -> Iterator[str]:
        return iter(self._strings)

    def __len__(self) -> int:
        return len(self._strings)


class Pages:
    def __init__(self, strings: PageStrings) -> None:
        self._strings = strings
        self._env = Environment(
            loader=FileSystemLoader(str(HERE / "pages")),
            autoescape=True,
            undefined=StrictUndefined,
            finalize=_clean,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        # Labels are plain text here; the page escapes them as it places them. No finalize: words() cleans the
        # values, and a name's direction isolates (which clean() would strip) must survive.
        self._labels = Environment(undefined=StrictUndefined, autoescape=False)
        self._compiled: dict[str, Template] = {}

    def words(self, locale: str, **context: str) -> Words:
        """The words with `context` at hand, its values cleaned and a person's `name` isolated."""
        cleaned = {key: isolated(value) if key == "name" else clean(value) for key, value in context.items()}
        return Words(self, self._strings.strings(locale, "landing"), cleaned)

    def label(self, source: str, context: dict[str, str]) -> str:
        template = self._compiled.get(source)
        if template is None:
            template = self._compiled[source] = self._labels.from_string(source)
        return template.render(**context)

    def render(self, request: web.Request, name: str, locale: str, status: int = 200, **context: Any) -> web.Response:
        """A page, in `locale`, with links relative to the request's path so a PUBLIC_URL with a path prefix works."""
        html = self._env.get_template(name).render(
            locale=locale,
            rtl=locale in RTL_LOCALES,
            languages=LANGUAGES,
            root="../" * max(0, request.path.count("/") - 1),
            **context,
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)
