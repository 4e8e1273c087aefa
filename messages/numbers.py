"""Numbers, percentages and money as a locale writes them: "1,234.5" in English, "1.234,5" in Spanish, "۱٬۲۳۴٫۵"
in Persian. Babel knows each locale's separators, sign and percent pattern; the figure is first rounded the way
Python's own "%.1f" rounds it, so an English text reads exactly as it did when templates formatted numbers
themselves. Babel writes Latin digits in every numbering system, so the locale's own digits are put in here.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import NumberPattern, format_decimal, format_percent, get_plus_sign_symbol
from jinja2 import pass_context
from jinja2.runtime import Context

# The digits of the numbering systems our locales use by default (CLDR's "arabext" is Persian's).
_DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩"}
# Direction marks around a sign (Persian's "\u200e−"): the renderer drops them from every value it shows, so they are
# dropped here too, and a figure reads the same inside a template and out of it.
_MARKS = "\u200e\u200f\u061c"


@cache
def _symbols(locale: str) -> dict[int, str | None]:
    """What Babel leaves as pattern characters ("-", "%") in the locale's own symbols, with its digits."""
    parsed = Locale.parse(locale)
    system = parsed.default_numbering_system
    symbols = parsed.number_symbols[system]
    own = {
        "-": symbols.get("minusSign", "-"),
        "%": symbols.get("percentSign", "%"),
        **dict(zip("0123456789", _DIGITS.get(system, "0123456789"), strict=True)),
    }
    table: dict[int, str | None] = {ord(mark): None for mark in _MARKS}
    table.update({ord(char): symbol.strip(_MARKS) for char, symbol in own.items() if symbol.strip(_MARKS) != char})
    return table


@cache
def _percent_pattern(locale: str, places: int) -> NumberPattern:
    """The locale's percent pattern ("#,##0 %" in Spanish) showing exactly `places` decimals."""
    pattern: NumberPattern = copy.copy(Locale.parse(locale).percent_formats[None])  # a copy: the locale's is shared
    pattern.frac_prec = (places, places)
    return pattern


def _fixed(value: float | Decimal, places: int) -> Decimal:
    """`value` rounded to `places` decimals as Python's "%.2f" rounds it (a float by its binary value)."""
    return Decimal(f"{value:.{places}f}")


def number(value: float | Decimal, locale: str, places: int = 0, sign: bool = False, group: bool = True) -> str:
    """A figure with the locale's grouping (unless not `group`), decimal mark and digits; `sign` shows "+" on a
    positive one, as "%+d" does."""
    fixed = _fixed(value, places)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    text = format_decimal(fixed, format=pattern, locale=locale, numbering_system="default", group_separator=group)
    if sign and not fixed.is_signed():
        text = get_plus_sign_symbol(locale, numbering_system="default") + text  # Babel's patterns show no "+"
    return text.translate(_symbols(locale))


def percent(share: float | Decimal, locale: str, places: int = 0) -> str:
    """A share (0.125) as the locale writes a percentage: "12.5%", "12,5 %", "۱۲٫۵٪"."""
    fixed = _fixed(share * 100, places) / 100
    text = format_percent(fixed, format=_percent_pattern(locale, places), locale=locale, numbering_system="default")
    return text.translate(_symbols(locale))


def money(amount: Decimal, currency: str, locale: str) -> str:
    """An amount with cents and the program's currency after it: "1,200.00 EUR", "1.200,00 EUR"."""
    return f"{number(amount, locale, 2)} {currency}".rstrip()


@pass_context
def _number_filter(context: Context, value: float | Decimal, places: int = 0, sign: bool = False) -> str:
    return number(value, context.get("locale", "en"), places, sign)


@pass_context
def _percent_filter(context: Context, share: float | Decimal, places: int = 0) -> str:
    return percent(share, context.get("locale", "en"), places)


# The templates' `{{ count | number }}`, `{{ k | number(2) }}`, `{{ nps | number(sign=true) }}` and
# `{{ rate | percent(1) }}`: in the locale the renderer puts in every template's context.
FILTERS = {"number": _number_filter, "percent": _percent_filter}
