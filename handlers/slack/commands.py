"""`/referrals <subcommand>` for managers (and `pending` and `help` for everyone).

The command is acknowledged at once; the answer follows through `respond`, so Slack's 3-second
limit holds however long a report takes."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.core.validation import COUNT_DIGITS_MAX, parse_count
from bot.engagement.asks import AskCampaigns, UnknownSegment
from bot.engagement.nps import nps_figures
from bot.engagement.survey import latest_feedback
from bot.engagement.variants import variant_figures
from bot.program.sections import SEGMENTS
from bot.program.texts import Texts
from bot.reports import stats
from bot.reports.charts import parse_chart_period, render_charts
from bot.reports.goals import goal_progress
from bot.reports.tallies import counts_by_variant
from bot.reports.worth import VIEWS, stats_view, stats_worth
from bot.team.routing_actions import RoutingActions, routing_figures
from bot.team.speed import pending_text
from bot.team.wording import median_time
from handlers.slack.charts import send_charts
from handlers.slack.managers import ManagersOnly, subcommand
from handlers.slack.readers import Readers
from handlers.slack.replays import Replays
from handlers.slack.review import review_queue
from storage.base import Store


class SlashCommands:
    def __init__(
        self,
        store: Store,
        screens: Texts,
        clock: Clock,
        campaigns: AskCampaigns | None = None,
        readers: Readers | None = None,
        routing: RoutingActions | None = None,
    ) -> None:
        self._routing = routing  # `away` and `back`, open to every rep
        self._campaigns = campaigns
        self._store = store
        self._screens = screens
        self._clock = clock
        self._readers = readers  # every answer is ephemeral: in the language of the one who asked

    def install(self, app: AsyncApp, managers: ManagersOnly, replays: Replays) -> None:
        app.command("/referrals", middleware=[replays.command, managers.command])(self.referrals)

    async def referrals(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        context: AsyncBoltContext,
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        """Reaches here only for a manager, or for a subcommand open to all (the guard sets `manager`)."""
        await ack()
        name, args = subcommand(command.get("text"))
        user = command["user_id"]
        locale = await self._readers.locale(user) if self._readers is not None else self._screens.team_locale
        if name == "review":  # the held referrals, each with Approve and Reject
            text, blocks = await review_queue(self._store, self._screens, self._clock.now(), locale=locale)
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        if name in ("away", "back") and self._routing is not None:
            inbound = f"slack:command:{user}:{command.get('trigger_id')}/{name}"
            await respond(text=await self._routing.set_away(inbound, user, name == "away"), response_type="ephemeral")
            return
        text = await self._answer(name, args, bool(context["manager"]), user, client, locale)
        await respond(text=text, response_type="ephemeral")

    async def _answer(
        self, name: str, args: list[str], manager: bool, user: str, client: AsyncWebClient, locale: str
    ) -> str:
        now, team = self._clock.now(), partial(self._screens.team, locale=locale)
        if name == "stats" and args and args[0].lower() == "chart":
            return await self._charts(args[1:], user, client, locale)
        if name in ("stats", "reps", "export"):
            view = args.pop(0).lower() if name == "stats" and args and args[0].lower() in VIEWS else None
            period = stats.parse_period(args[0] if args else "", now)
            if period is None:
                return team("bad_period", text=args[0][:20])
            if view is not None:  # `stats sources` or `stats money`: the whole of what the summary sums up
                return await stats_view(view, self._store, self._screens, period, now, locale=locale)
            if name == "stats":
                return await self._stats(period, locale)
            if name == "reps":
                reps = await stats.reps(self._store, period)
                routed = await routing_figures(self._store, period.since)  # assigned, accepted in time, handed on
                return team("reps", reps=reps, minutes=median_time(self._screens, locale), routing=routed)
            return await self._export(period, user, client, locale)
        if name == "ask":
            return await self._ask(args, user, locale)
        if name == "feedback":
            return team("nps_feedback", **await latest_feedback(self._store))
        if name == "top":
            # Anything but a plain number shows the first ten, as if none was given; a number is kept to 1–50.
            count = parse_count(args[0], 0, 10**COUNT_DIGITS_MAX) if args else None
            limit = 10 if count is None else count
            return team("top", rows=await stats.leaderboard(self._store, max(1, min(limit, 50))))
        if name == "pending":  # the longest waits first, each with where it stands against the SLA
            return await pending_text(self._store, self._screens, now, locale)
        return team("help", manager=manager)

    async def _ask(self, args: list[str], user: str, locale: str) -> str:
        """`ask <segment> [dry-run]`: a campaign to the segment's eligible customers, or what it would do."""
        dry_run = args[1:] in (["dry-run"], ["dry"], ["--dry-run"])
        if self._campaigns is None or not args or (len(args) > 1 and not dry_run):
            return self._screens.team("ask_usage", locale, segments=SEGMENTS, unknown=None)
        try:
            report = await self._campaigns.run(args[0].lower(), dry_run, actor=f"slack:{user}")
        except UnknownSegment:
            return self._screens.team("ask_usage", locale, segments=SEGMENTS, unknown=args[0][:40])
        rules, label = self._campaigns.rules, self._screens.team_label
        days, times = rules.cooldown_days, rules.max_per_90_days  # what the cooldown and cap reasons name
        reasons = [
            (label(f"slack_ask_reason_{reason}", locale, days=days, times=times), count)
            for reason, count in report.excluded.items()
        ]
        return self._screens.team("ask_report", locale, report=report, reasons=reasons)

    async def _stats(self, period: stats.Period, locale: str) -> str:
        dead = await self._store.dead_letters()
        names = [variant.name for variant in self._screens.program.variants]
        counts = await counts_by_variant(self._store, period.since)  # read once for the funnel and the A/B block
        members = await self._store.customers_by_variant()  # and once for the A/B block and the K-factor
        return self._screens.team(
            "stats",
            locale,
            f=await stats.funnel(self._store, period, counts),
            minutes=median_time(self._screens, locale),
            dead=dead,
            nps=await nps_figures(self._store, period),
            variants=await variant_figures(self._store, period, names, counts, members),
            goals=await goal_progress(self._store, self._screens.program, self._clock.now(), locale),
            **await stats_worth(self._store, self._screens, period, self._clock.now(), counts, members, locale=locale),
        )

    async def _charts(self, args: list[str], user: str, client: AsyncWebClient, locale: str) -> str:
        """`stats chart [period]`: the funnel and the weeks as pictures, in the manager's DM (12 weeks by default)."""
        now, screens = self._clock.now(), self._screens
        period = parse_chart_period(args[0] if args else "", now)
        if period is None:
            return screens.team("chart_period", locale, text=args[0][:20])
        charts = await render_charts(self._store, screens.program, screens.renderer, locale, now, period)
        await send_charts(client, user, charts, f"referrals-{period.label}-{now:%Y%m%d}")
        return screens.team("charts_sent", locale, titles=[chart.title for chart in charts])

    async def _export(self, period: stats.Period, user: str, client: AsyncWebClient, locale: str) -> str:
        """The CSV into the manager's DM, its header row in their language. In English it is the keys (event_at,
        referral_id, …) that `referral-bot export` writes and scripts look columns up by; the columns' order is the
        same in every language."""
        header = [self._screens.team_label(f"csv_{column}", locale) for column in stats.EXPORT_COLUMNS]
        content = await stats.export_csv(self._store, period, header)
        opened = await client.conversations_open(users=user)
        filename = f"referrals-{period.label}-{self._clock.now():%Y%m%d}.csv"
        await client.files_upload_v2(
            channel=opened["channel"]["id"],
            content=content,
            filename=filename,
            title=filename,
        )
        return self._screens.team("export_ready", locale, period=period.label, rows=content.count("\n") - 1)
