"""Every locale speaks on both sides: the team's Slack texts (messages/<locale>/*.mrkdwn) and the customer's Telegram
texts (*.html) and e-mails (email/*). Each English template has its Spanish and Persian twin, no twin lacks an English
original, each twin compiles and asks for exactly the variables English does, and every label of en/labels.toml is
in the other locales' labels.toml. A missing file or label is not an error at run time: the renderer quietly falls
back to English, so only this test notices."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, meta

from messages import Renderer
from messages.numbers import FILTERS as NUMBER_FILTERS
from messages.renderer import BUILT_IN, LOCALES

OTHER_LOCALES = [locale for locale in LOCALES if locale != "en"]
# Each side's templates: the folder under messages/<locale>/ and how their names end ("" for every file).
SIDES = {"slack": ("", ".mrkdwn"), "telegram": ("", ".html"), "email": ("email", "")}
# Building blocks without a word of their own, which every locale's templates include from en/.
SHARED = {"kit_items.html", "kit_words.html"}
# Parsed the way messages/renderer.py reads them, so whitespace control and the like are judged alike.
ENV = Environment(loader=FileSystemLoader(str(BUILT_IN)), trim_blocks=True, lstrip_blocks=True, autoescape=False)
ENV.filters.update(NUMBER_FILTERS)  # `|number` and `|percent`, which the renderer gives every template


def templates(locale: str, side: str) -> set[str]:
    """The side's templates in `locale`, as paths under messages/<locale>/ ("alert.mrkdwn", "email/base.html")."""
    folder, suffix = SIDES[side]
    directory = BUILT_IN / locale / folder
    if not directory.is_dir():
        return set()
    return {
        (Path(folder) / path.name).as_posix()
        for path in directory.iterdir()
        if path.is_file() and path.name.endswith(suffix)
    }


def twins() -> list[tuple[str, str]]:
    """(locale, path) of every translated template English has too; the file tests tell a missing or extra one."""
    return sorted(
        (locale, path)
        for locale in OTHER_LOCALES
        for side in SIDES
        for path in templates("en", side) & templates(locale, side)
    )


def source(locale: str, path: str) -> str:
    return (BUILT_IN / locale / path).read_text(encoding="utf-8")


def variables(locale: str, path: str) -> set[str]:
    """The names the template takes from its caller's context (what it sets or loops over itself is not one)."""
    return set(meta.find_undeclared_variables(ENV.parse(source(locale, path))))


def labels(locale: str) -> dict[str, object]:
    with (BUILT_IN / locale / "labels.toml").open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_english_template_has_its_translation(locale: str, side: str) -> None:
    missing = sorted(templates("en", side) - templates(locale, side) - SHARED)
    assert missing == [], f"messages/{locale} lacks {len(missing)} {side} templates (English is shown instead)"


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_no_template_english_lacks(locale: str, side: str) -> None:
    """A file English lacks is a misspelt or a left-over one: nothing ever asks for it."""
    extra = sorted(templates(locale, side) - templates("en", side))
    assert extra == [], f"messages/{locale} has {side} templates English does not"


def test_the_sides_have_templates() -> None:
    """A moved folder or renamed suffix would leave every test above comparing two empty sets."""
    assert all(templates("en", side) for side in SIDES)


@pytest.mark.parametrize(("locale", "path"), twins())
def test_translation_compiles(locale: str, path: str) -> None:
    ENV.get_template(f"{locale}/{path}")  # parses and compiles: a syntax error fails here
    referenced = meta.find_referenced_templates(ENV.parse(source(locale, path)))
    absent = [name for name in referenced if name is not None and not (BUILT_IN / name).is_file()]
    assert absent == [], f"{locale}/{path} includes or extends templates that do not exist"


@pytest.mark.parametrize(("locale", "path"), twins())
def test_translation_takes_the_same_variables(locale: str, path: str) -> None:
    """A variable English uses and the translation drops is a fact the reader never sees; one the translation adds
    and the caller does not pass fails at render time (StrictUndefined)."""
    english, translated = variables("en", path), variables(locale, path)
    assert sorted(english - translated) == [], f"{locale}/{path} drops variables English shows"
    assert sorted(translated - english) == [], f"{locale}/{path} uses variables English does not"


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_label_has_its_translation(locale: str) -> None:
    translated = labels(locale)
    missing = [key for key in labels("en") if key not in translated]
    assert missing == [], f"{locale}/labels.toml lacks {len(missing)} keys (English is shown instead)"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_dashboards_waiting_list_starts_on_its_own_line(locale: str) -> None:
    """When more wait than are listed, the header's last words and the first row are two lines, not one."""
    row = {"friend": "Luis", "referrer": "Ana", "status": "new", "assignee": None, "age": "5 min"}
    header, first = Renderer().slack("home_pending", locale, total=5, rows=[row]).split("\n")[:2]
    assert ("5" in header or "۵" in header) and "Luis" not in header  # Persian writes its own digits
    assert first.startswith("• Luis")
