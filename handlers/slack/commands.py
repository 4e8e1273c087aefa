"""`/referrals <subcommand>` for managers (and `pending` and `help` for everyone).

The command is acknowledged at once; the answer follows through `respond`, so Slack's 3-second
limit holds however long a report takes."""

from __future__ import annotations

from datetime import datetime
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
from handlers.slack.charts import TEAM_LOCALE, send_charts
from handlers.slack.managers import ManagersOnly, subcommand
from handlers.slack.replays import Replays
from handlers.slack.review import review_queue
from storage.base import Store


def _minutes(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def _age(created_at: str, now: datetime) -> str:
    return _minutes((now - datetime.fromisoformat(created_at)).total_seconds() / 60)


class SlashCommands:
    def __init__(self, store: Store, screens: Texts, clock: Clock, campaigns: AskCampaigns | None = None) -> None:
        self._campaigns = campaigns
        self._store = store
        self._screens = screens
        self._clock = clock

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
        if name == "review":  # the held referrals, each with Approve and Reject
            text, blocks = await review_queue(self._store, self._screens, self._clock.now())
            await respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        text = await self._answer(name, args, bool(context["manager"]), command["user_id"], client)
        await respond(text=text, response_type="ephemeral")

    async def _answer(self, name: str, args: list[str], manager: bool, user: str, client: AsyncWebClient) -> str:
        now, team = self._clock.now(), self._screens.team
        if name == "stats" and args and args[0].lower() == "chart":
            return await self._charts(args[1:], user, client)
        if name in ("stats", "reps", "export"):
            view = args.pop(0).lower() if name == "stats" and args and args[0].lower() in VIEWS else None
            period = stats.parse_period(args[0] if args else "", now)
            if period is None:
                return team("bad_period", text=args[0][:20])
            if view is not None:  # `stats sources` or `stats money`: the whole of what the summary sums up
                return await stats_view(view, self._store, self._screens, period, now)
            if name == "stats":
                return await self._stats(period)
            if name == "reps":
                return team("reps", reps=await stats.reps(self._store, period), minutes=_minutes)
            return await self._export(period, user, client)
        if name == "ask":
            return await self._ask(args, user)
        if name == "feedback":
            return team("nps_feedback", **await latest_feedback(self._store))
        if name == "top":
            # Anything but a plain number shows the first ten, as if none was given; a number is kept to 1–50.
            count = parse_count(args[0], 0, 10**COUNT_DIGITS_MAX) if args else None
            limit = 10 if count is None else count
            return team("top", rows=await stats.leaderboard(self._store, max(1, min(limit, 50))))
        if name == "pending":
            rows = [
                {
                    **row,
                    "friend": row["friend_first_name"] or row["friend_name"] or "a friend",
                    "referrer": row["referrer_name"],
                    "age": _age(row["created_at"], now),
                }
                for row in await stats.pending(self._store)
            ]
            return team("pending", rows=rows)
        return team("help", manager=manager)

    async def _ask(self, args: list[str], user: str) -> str:
        """`ask <segment> [dry-run]`: a campaign to the segment's eligible customers, or what it would do."""
        dry_run = args[1:] in (["dry-run"], ["dry"], ["--dry-run"])
        if self._campaigns is None or not args or (len(args) > 1 and not dry_run):
            return self._screens.team("ask_usage", segments=SEGMENTS, unknown=None)
        try:
            report = await self._campaigns.run(args[0].lower(), dry_run, actor=f"slack:{user}")
        except UnknownSegment:
            return self._screens.team("ask_usage", segments=SEGMENTS, unknown=args[0][:40])
        return self._screens.team("ask_report", report=report, reasons=report.reasons(self._campaigns.rules))

    async def _stats(self, period: stats.Period) -> str:
        dead = await self._store.dead_letters()
        names = [variant.name for variant in self._screens.program.variants]
        counts = await counts_by_variant(self._store, period.since)  # read once for the funnel and the A/B block
        members = await self._store.customers_by_variant()  # and once for the A/B block and the K-factor
        return self._screens.team(
            "stats",
            f=await stats.funnel(self._store, period, counts),
            minutes=_minutes,
            dead=dead,
            nps=await nps_figures(self._store, period),
            variants=await variant_figures(self._store, period, names, counts, members),
            goals=await goal_progress(self._store, self._screens.program, self._clock.now()),
            **await stats_worth(self._store, self._screens, period, self._clock.now(), counts, members),
        )

    async def _charts(self, args: list[str], user: str, client: AsyncWebClient) -> str:
        """`stats chart [period]`: the funnel and the weeks as pictures, in the manager's DM (12 weeks by default)."""
        now, screens = self._clock.now(), self._screens
        period = parse_chart_period(args[0] if args else "", now)
        if period is None:
            return screens.team("chart_period", text=args[0][:20])
        charts = await render_charts(self._store, screens.program, screens.renderer, TEAM_LOCALE, now, period)
        await send_charts(client, user, charts, f"referrals-{period.label}-{now:%Y%m%d}")
        return screens.team("charts_sent", titles=[chart.title for chart in charts])

    async def _export(self, period: stats.Period, user: str, client: AsyncWebClient) -> str:
        content = await stats.export_csv(self._store, period)
        opened = await client.conversations_open(users=user)
        filename = f"referrals-{period.label}-{self._clock.now():%Y%m%d}.csv"
        await client.files_upload_v2(
            channel=opened["channel"]["id"],
            content=content,
            filename=filename,
            title=filename,
        )
        return self._screens.team("export_ready", period=period.label, rows=content.count("\n") - 1)
