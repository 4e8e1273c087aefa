"""The text of `referral-bot stats`: the figures of `/referrals stats`, worded by the same templates."""

from __future__ import annotations

from datetime import datetime

from bot.program.rules import Program
from bot.program.settings import Settings
from bot.reports.stats import Period

COMMAND = "referral-bot stats"  # what the summary's lines point to for more


async def stats_text(settings: Settings, rules: Program, view: str | None, chosen: Period, at: datetime) -> str:
    """The stats as `/referrals stats` words them; goals and break-even as they stood at `at`."""
    from bot.app.wiring import open_migrated_store
    from bot.core.links import Links
    from bot.engagement.nps import nps_figures
    from bot.engagement.variants import variant_figures
    from bot.program.texts import Texts
    from bot.reports.goals import goal_progress
    from bot.reports.stats import funnel
    from bot.reports.tallies import counts_by_variant
    from bot.reports.worth import stats_view, stats_worth
    from bot.team.wording import median_time
    from messages import Renderer

    store = await open_migrated_store(settings)
    try:
        screens = Texts(Renderer(settings.templates_dir), rules, Links(""), settings.team_locale)
        if view is not None:
            return await stats_view(view, store, screens, chosen, at, command=COMMAND)
        counts = await counts_by_variant(store, chosen.since)
        members = await store.customers_by_variant()  # read once for the A/B block and the K-factor
        return screens.team(
            "stats",
            f=await funnel(store, chosen, counts),
            minutes=median_time(screens),
            dead=await store.dead_letters(),
            nps=await nps_figures(store, chosen),
            variants=await variant_figures(store, chosen, [v.name for v in rules.variants], counts, members),
            goals=await goal_progress(store, rules, at, screens.team_locale),
            **await stats_worth(store, screens, chosen, at, counts, members, command=COMMAND),
        )
    finally:
        await store.close()
