"""Slack's App Home tab: managers see the live dashboard, everyone else a short explanation.

Opening the tab queues a publish through the outbox, like every other thing the bot sends; the
view is rendered when the row is sent, so it always shows the figures as they are then."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.core.models import OutboxRow
from bot.core.unit_of_work import Units
from bot.delivery.outbox import SendFailed
from bot.program.texts import Texts
from bot.team.alerts import HOME_PLATFORM, Team, home_chat, home_payload, note_home_opened
from bot.team.dashboard import Dashboard, load_dashboard
from handlers.slack.blocks import fit
from handlers.slack.charts import HomeCharts
from handlers.slack.readers import Readers, kept_locale
from storage.base import Store

Block = dict[str, Any]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text)}}


def home_view(
    screens: Texts, team: Team, board: Dashboard | None, charts: Sequence[Block] = (), locale: str | None = None
) -> dict[str, Any]:
    """The Home tab, in `locale` (its one reader's): the dashboard for a manager (board given), with the charts'
    image blocks below the funnel; otherwise what the app is for."""
    if board is None:
        return {"type": "home", "blocks": [_section(screens.team("home_visitor", locale, channel=team.alert_channel))]}
    updated = screens.team("home_updated", locale, now=board.now)
    header = screens.team_label("slack_home_header", locale)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150], "emoji": True}},
        _section(screens.team("home_funnel", locale, f=board.funnel)),
        *charts,
        {"type": "divider"},
    ]
    if board.goals:
        blocks += [_section(screens.team("goals", locale, goals=board.goals)), {"type": "divider"}]
    blocks += [
        _section(screens.team("home_pending", locale, rows=board.pending, total=board.pending_total)),
        {"type": "divider"},
    ]
    if board.held_total:  # the managers' review queue, only when something waits in it
        held = screens.team("home_review", locale, rows=board.held, total=board.held_total)
        blocks += [_section(held), {"type": "divider"}]
    blocks += [
        _section(screens.team("top", locale, rows=board.advocates)),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(updated, 2000)}]},
    ]
    return {"type": "home", "blocks": blocks}


class HomeTab:
    """Listens for app_home_opened and queues the tab's publish."""

    def __init__(self, units: Units, readers: Readers | None = None) -> None:
        self._units = units
        self._readers = readers

    def install(self, app: AsyncApp) -> None:
        app.event("app_home_opened")(self.opened)

    async def opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab opened: nothing to show
        user = str(event["user"])
        if self._readers is not None:  # their language, kept for the publish that renders the tab
            await self._readers.own(user)

        # Slack retries an event with the same event_id: the inbound id makes the retry a no-op.
        async with self._units.once(f"slack:event:{body.get('event_id') or event.get('event_ts')}") as w:
            if w is None:
                return
            await note_home_opened(w, user)
            await w.post(HOME_PLATFORM, home_chat(user, opened=True), home_payload(user))


class HomeSender:
    """Publishes the Home rows (their own outbox lane: views.publish has its own Slack rate limit, and a
    dashboard refresh never waits behind a burst of alerts)."""

    def __init__(self, client: AsyncWebClient, store: Store, screens: Texts, team: Team, clock: Clock) -> None:
        self._client, self._store = client, store
        self._screens, self._team, self._clock = screens, team, clock
        self._charts = HomeCharts(client, store, screens, clock)  # one drawing an hour, shared by every manager

    async def send(self, row: OutboxRow) -> str | None:
        user = str(row.payload["user"])
        # Managers are read at send time, so someone no longer a manager stops seeing the figures.
        manager = self._team.is_manager(user)
        screens, locale = self._screens, await kept_locale(self._store, self._screens, user)
        now = self._clock.now()
        board = await load_dashboard(self._store, now, screens.program, screens, locale) if manager else None
        charts = await self._charts.blocks() if manager else []
        view = home_view(screens, self._team, board, charts, locale)
        try:
            published = await self._client.views_publish(user_id=user, view=view)
        except SlackApiError as error:
            raise _failure(error) from error
        except (OSError, TimeoutError) as error:
            raise SendFailed(f"network: {error}") from error
        return str((published.get("view") or {}).get("id") or "") or None


def _failure(error: SlackApiError) -> SendFailed:
    code = str(error.response.get("error", "unknown_error"))
    if error.response.status_code == 429:
        retry_after = float(error.response.headers.get("Retry-After", 1))
        return SendFailed(f"rate limited: {code}", retry_after=retry_after, throttled=True)
    return SendFailed(code, permanent=code in {"user_not_found", "invalid_auth", "not_authed", "invalid_arguments"})
