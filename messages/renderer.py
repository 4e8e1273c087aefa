"""Render templates for a target, escaping every value the way that target needs.

Telegram templates (`<locale>/<name>.html`) are HTML-autoescaped. Short labels (buttons, status
names) live in `<locale>/labels.toml` and are plain text. A business may point `TEMPLATES_DIR` at
its own folder with the same layout; its files win, file by file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from markupsafe import Markup

from messages.numbers import FILTERS as NUMBER_FILTERS

BUILT_IN = Path(__file__).parent
LOCALES = ("en", "es", "fa")
RTL_LOCALES = frozenset({"fa"})
RLM = "\u200f"
# Characters that let a name reorder or hide the text around it; they never belong in a name we show.
_HOSTILE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]|[\ud800-\udfff]")


def normalize_locale(language_code: str | None, default: str = "en") -> str:
    """Map Telegram's IETF language code (e.g. "es-MX") to a locale we speak."""
    base = (language_code or "").split("-")[0].split("_")[0].lower()
    return base if base in LOCALES else default


def clean(value: Any) -> Any:
    if isinstance(value, str):
        cleaned = _HOSTILE.sub("", value)
        return Markup(cleaned) if isinstance(value, Markup) else cleaned  # markup a template marked safe stays so
    return value


def slack_escape(value: Any) -> Any:
    """Slack mrkdwn needs only &, < and > escaped; everything else shows as typed."""
    if isinstance(value, str):
        return clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


def rtl_lines(text: str) -> str:
    """Start each line with a right-to-left mark, so a line opening with a link or a Latin
    name still lays out right to left in Telegram clients."""
    return "\n".join(RLM + line if line.strip() else line for line in text.split("\n"))


class Renderer:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
        self._override = override_dir
        self._dirs = [d for d in (override_dir, BUILT_IN) if d is not None]
        self._env = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(str(BUILT_IN))]),
            autoescape=True,
            undefined=StrictUndefined,
            finalize=clean,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates are read once per start; checking the files on every message costs a stat
        )
        self._env.filters.update(NUMBER_FILTERS)  # `|number`, `|percent`: in the template's locale; overlays share them
        self._plain = Environment(undefined=StrictUndefined, finalize=clean, autoescape=False)
        self._slack = self._env.overlay(autoescape=False, finalize=slack_escape)
        self._plain_files = self._env.overlay(autoescape=False)  # e-mail text parts: as typed, nothing to escape
        self._compiled: dict[str, Template] = {}
        self._merged_labels: dict[str, dict[str, str]] = {}

    def telegram(self, locale: str, name: str, **context: Any) -> str:
        """A Telegram HTML message; falls back to English when the locale lacks the template."""
        try:
            template = self._env.get_template(f"{locale}/{name}.html")
        except TemplateNotFound:
            template = self._env.get_template(f"en/{name}.html")
        text = template.render(locale=locale, **context).strip()
        return rtl_lines(text) if locale in RTL_LOCALES else text

    def slack(self, name: str, locale: str = "en", **context: Any) -> str:
        """A Slack mrkdwn text for the team; values are escaped, the template's own markup is kept."""
        try:
            template = self._slack.get_template(f"{locale}/{name}.mrkdwn")
        except TemplateNotFound:
            template = self._slack.get_template(f"en/{name}.mrkdwn")
        return template.render(locale=locale, **context).strip()

    def slack_first(self, names: Sequence[str], locale: str = "en", **context: Any) -> str:
        """The first of `names` there is a Slack template for, such as a segment's call script before the default
        one. A file of TEMPLATES_DIR comes before every built-in one: a business that writes its own default
        expects it to be used, not a built-in text for some segment it did not think to override."""
        paths = [f"{code}/{name}.mrkdwn" for name in names for code in dict.fromkeys((locale, "en"))]
        own = [path for path in paths if self._override is not None and (self._override / path).is_file()]
        return self._slack.select_template([*own, *paths]).render(locale=locale, **context).strip()

    def label(self, locale: str, key: str, **context: Any) -> str:
        """A short plain-text label, such as a button's text."""
        labels = self._labels(locale)
        source = labels.get(key) or self._labels("en")[key]
        if "{" not in source:  # most labels are plain words: nothing to render
            return source
        template = self._compiled.get(source)
        if template is None:  # labels are rendered on every message: compile each source once
            template = self._compiled[source] = self._plain.from_string(source)
        return template.render(**context)

    def _labels(self, locale: str, file: str = "labels") -> dict[str, str]:
        merged = self._merged_labels.get(f"{locale}/{file}")
        if merged is None:  # read once per start, like the templates
            merged = self._merged_labels[f"{locale}/{file}"] = {}
            for directory in reversed(self._dirs):
                merged.update(_read_labels(directory / locale / f"{file}.toml"))
        return merged

    def string(self, locale: str, file: str, key: str, **context: Any) -> str:
        """One of a web page's words, rendered (such as the landing page's consent sentence with the program's name)."""
        source = self.strings(locale, file)[key]
        template = self._compiled.get(source)
        if template is None:
            template = self._compiled[source] = self._plain.from_string(source)
        return template.render(**context)

    def strings(self, locale: str, file: str) -> dict[str, str]:
        """A web page's words (`<locale>/<file>.toml`), English where the locale lacks one; the business's own win."""
        return {**self._labels("en", file), **self._labels(locale, file)}

    def email(self, locale: str, name: str, **context: Any) -> tuple[str, str]:
        """An e-mail's HTML and text parts, from `<locale>/email/<name>.html` and `.txt` (English when missing)."""
        parts = []
        for suffix, environment in (("html", self._env), ("txt", self._plain_files)):
            try:
                template = environment.get_template(f"{locale}/email/{name}.{suffix}")
            except TemplateNotFound:
                template = environment.get_template(f"en/email/{name}.{suffix}")
            parts.append(template.render(locale=locale, rtl=locale in RTL_LOCALES, **context).strip())
        return parts[0], parts[1]


@cache
def _read_labels(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return {key: str(value) for key, value in tomllib.load(handle).items()}
