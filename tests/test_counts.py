"""The one parser for a number a person types: ASCII digits only, and never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.validation import COUNT_DIGITS_MAX, parse_count
from bot.reports.stats import parse_period

NOW = datetime(2026, 1, 5, tzinfo=UTC)


@given(st.integers(0, 10**COUNT_DIGITS_MAX - 1))
def test_a_number_in_range_reads_back_as_itself(number: int) -> None:
    assert parse_count(str(number), 0, 10**COUNT_DIGITS_MAX) == number


@given(st.text())
def test_any_text_is_a_count_in_range_or_nothing_and_never_an_error(text: str) -> None:
    count = parse_count(text, 1, 100)
    assert count is None or (1 <= count <= 100 and text.isdecimal() and int(text) == count)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "²", "7²", " 7", "7 ", "+7", "-1", "7.0", "1_000", "0x10", "0", "101",
     pytest.param("9" * 5000, id="5000 digits")],
)  # fmt: skip
def test_what_int_would_refuse_or_misread_is_not_a_count(text: str) -> None:
    assert parse_count(text, 1, 100) is None


@pytest.mark.parametrize(("text", "count"), [("۷", 7), ("١٢", 12), ("１２", 12), ("07", 7)])
def test_a_person_may_type_the_digits_of_their_own_script(text: str, count: int) -> None:
    assert parse_count(text, 1, 100) == count
    assert parse_count(text, 1, 100, ascii_only=True) == (count if text.isascii() else None)


def test_a_stats_period_counts_its_days_with_the_same_parser() -> None:
    twelve = parse_period("12D", NOW)
    assert twelve is not None and twelve.since == NOW - timedelta(days=12)
    persian_week = parse_period("۷d", NOW)
    assert persian_week is not None and persian_week.since == NOW - timedelta(days=7)
    for word in ("²d", "0d", "10000d", "9" * 5000 + "d", "d"):
        assert parse_period(word, NOW) is None  # `/referrals stats` then names the period it did not understand
