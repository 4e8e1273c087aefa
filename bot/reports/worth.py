"""Where referrals come from and what they are worth, as `/referrals stats` and `referral-bot stats` show it: a few
lines in the main answer (asked at the funnel's head, the K-factor, the top sources, money and break-even), and the
whole of it in `stats sources` and `stats money`, which a manager asks for when the summary raises a question."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from bot.core.figures import Counts
from bot.program.texts import Texts
from bot.reports.money import break_even, money
from bot.reports.sources import reach, sources, top
from bot.reports.stats import Period
from bot.reports.tallies import total
from storage.base import Store

VIEWS = ("sources", "money")  # `/referrals stats <view> [period]`
SLACK = "/referrals stats"  # what the summary's lines point to for more


async def stats_worth(
    store: Store,
    screens: Texts,
    period: Period,
    now: datetime,
    by_variant: dict[str, Counts],
    members: dict[str | None, int],
    command: str = SLACK,
    locale: str | None = None,
) -> dict[str, Any]:
    """The main stats' context for these lines; `by_variant` (the funnel's counts) and `members` (customers per
    variant) are read already, for the funnel and the A/B block: a million customers take a while to count. Amounts
    read in `locale`, the one who asked (the team's when None)."""
    found = await sources(store, period)
    return {
        "asked": found.asked,
        "reach": reach(found, total(by_variant).shares, sum(members.values())),
        "top_sources": top(found.channels),
        "worth": money(found),
        "break_even": await break_even(store, screens.program, now),
        "amount": partial(screens.money, locale=locale),
        "command": command,
    }


async def stats_view(
    view: str,
    store: Store,
    screens: Texts,
    period: Period,
    now: datetime,
    command: str = SLACK,
    locale: str | None = None,
) -> str:
    """`view` is one of VIEWS: the breakdown by channel and by ask, or the money and break-even; in `locale`, the
    language of the one who asked (the team's when None)."""
    found = await sources(store, period)
    window = screens.program.attribution.window_days
    amount = partial(screens.money, locale=locale)
    context: dict[str, Any] = {"found": found, "amount": amount, "window": window, "command": command}
    if view == "sources":
        return screens.team("stats_sources", locale, **context)
    return screens.team(
        "stats_money", locale, worth=money(found), break_even=await break_even(store, screens.program, now), **context
    )
