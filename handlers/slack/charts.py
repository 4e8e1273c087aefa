"""The charts in Slack. `/referrals stats chart [period]` uploads them into the manager's DM with the bot, so only
that manager sees them. The App Home dashboard shows them as image blocks of files uploaded to no channel: a
`slack_file` needs no public URL, and Slack shows it to whoever the bot shows it to."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.program.texts import Texts
from bot.reports.chart_data import DEFAULT_WEEKS, ChartFigures, chart_figures, weeks_period
from bot.reports.charts import Chart, draw_charts
from storage.base import Store

log = logging.getLogger(__name__)

Block = dict[str, Any]


def _uploads(charts: Sequence[Chart], stem: str) -> list[dict[str, Any]]:
    return [{"content": c.png, "filename": f"{stem}-{c.name}.png", "title": c.title, "alt_txt": c.alt} for c in charts]


async def send_charts(client: AsyncWebClient, user: str, charts: Sequence[Chart], stem: str) -> None:
    """Into the person's DM with the bot: one message holding the pictures, with what each shows in words."""
    opened = await client.conversations_open(users=user)
    await client.files_upload_v2(
        channel=opened["channel"]["id"],
        file_uploads=_uploads(charts, stem),
        initial_comment="\n".join(chart.alt for chart in charts),
    )


def image_block(chart: Chart, file_id: str) -> Block:
    return {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": chart.alt[:2000],
        "title": {"type": "plain_text", "text": chart.title[:2000]},
    }


class HomeCharts:
    """The dashboard's image blocks of the last twelve weeks. The figures are read again at most once an hour, and
    drawn and uploaded again only when they changed: a Home refresh follows every burst of arrivals, and must not
    draw each time."""

    def __init__(self, client: AsyncWebClient, store: Store, screens: Texts, clock: Clock) -> None:
        self._client, self._store, self._screens, self._clock = client, store, screens, clock
        self._lock = asyncio.Lock()  # two managers' refreshes at once upload once
        self._read_at: datetime | None = None
        self._figures: ChartFigures | None = None
        self._blocks: list[Block] = []

    async def blocks(self) -> list[Block]:
        """The charts' blocks; on a Slack or network failure the last ones uploaded (none at first), tried again
        at the next refresh."""
        now = self._clock.now()
        hour = now.replace(minute=0, second=0, microsecond=0)
        async with self._lock:
            if self._read_at != hour:
                try:
                    await self._refresh(now)
                    self._read_at = hour
                except (SlackClientError, OSError, TimeoutError) as error:
                    log.warning("the dashboard's charts could not be uploaded: %s", error)
            return list(self._blocks)

    async def _refresh(self, now: datetime) -> None:
        period = weeks_period(DEFAULT_WEEKS, now)
        figures = await chart_figures(self._store, period, self._screens.program.program.currency)
        if figures == self._figures:
            return
        # One drawing for every manager's Home tab, so in the team's language (TEAM_LOCALE), like a channel post.
        charts = await draw_charts(figures, self._screens.renderer, self._screens.team_locale)
        uploaded = await self._client.files_upload_v2(file_uploads=_uploads(charts, f"dashboard-{now:%Y%m%d-%H}"))
        ids = [str(item["id"]) for item in uploaded["files"]]
        self._figures, self._blocks = figures, [image_block(c, i) for c, i in zip(charts, ids, strict=True)]
