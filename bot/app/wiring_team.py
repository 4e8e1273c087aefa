"""The composition root's team side: the Slack app with its listeners and senders, and the parts that work for the
sales team in the background (speed-to-lead timers, the Monday summary, routing)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.app.startup_checks import check_slack_channels
from bot.core.clock import Clock
from bot.core.engine import Part
from bot.customers.services import CustomerServices
from bot.delivery.outbox import Sender
from bot.program.settings import Settings
from bot.reports.metrics import Metrics
from bot.team.alerts import HOME_PLATFORM, Alerts, Team
from bot.team.router import Router
from bot.team.routing_actions import RoutingActions
from bot.team.sla import SlaScheduler
from bot.team.weekly import WeeklySummary
from bot.team.workflow import TeamService
from handlers.http.listen import Limits
from handlers.slack.channel import SlackChannel, build_slack_app
from handlers.slack.commands import SlashCommands
from handlers.slack.home import HomeSender, HomeTab
from handlers.slack.managers import ManagersOnly
from handlers.slack.offers import RoutingRoutes, SlackPresence
from handlers.slack.readers import Readers
from handlers.slack.replays import Replays
from handlers.slack.reward_blocks import KINDS as REWARD_KINDS
from handlers.slack.reward_blocks import RewardRoutes, RewardSender
from handlers.slack.routes import SlackRoutes
from handlers.slack.sender import SlackSender
from storage import Store


async def team_parts(
    settings: Settings,
    services: CustomerServices,
    team: Team,
    alerts: Alerts,
    senders: dict[str, Sender],
    stack: AsyncExitStack,
    metrics: Metrics,
) -> list[Part]:
    """Slack, and what works for the sales team in the background: speed-to-lead timers, the Monday summary, routing."""
    units = services.units
    slack, readers = _slack(settings, units.store, units.clock, services, team, alerts, senders)
    parts: list[Part] = [await stack.enter_async_context(slack), SlaScheduler(units, metrics=metrics)]
    parts.append(WeeklySummary(units))  # the managers' Monday speed-to-lead summary
    parts.append(Router(units, alerts, SlackPresence(slack.app.client, readers)))  # offers, hand-ons
    await check_slack_channels(team, slack.channel_info)
    return parts


def _slack(
    settings: Settings,
    store: Store,
    clock: Clock,
    services: CustomerServices,
    team: Team,
    alerts: Alerts,
    senders: dict[str, Sender],
) -> tuple[SlackChannel, Readers]:
    """The team side: the Slack app with its routes and commands, the outbox's Slack sender, and who reads which
    language."""
    slack_app = build_slack_app(settings.slack_bot_token, settings.slack_api_url, settings.slack_signing_secret)
    slack_sender = SlackSender(slack_app.client, store, services.screens, clock, settings.slack_digest_threshold)
    senders["slack"] = slack_sender
    rewards = RewardSender(slack_app.client, store, services.screens)
    senders.update({f"slack/{kind}": rewards for kind in REWARD_KINDS})
    senders[HOME_PLATFORM] = HomeSender(slack_app.client, store, services.screens, team, clock)
    readers = Readers(slack_app.client, store, services.screens, clock)  # each person's language, as Slack says
    HomeTab(services.units, readers).install(slack_app)
    SlackRoutes(TeamService(services.units, alerts), services.screens, readers).install(slack_app)
    managers = ManagersOnly(team, services.screens, readers)  # the one manager check, before every manager-only one
    RewardRoutes(services.units, alerts, readers).install(slack_app, managers)  # and the review queue's buttons
    replays = Replays(store, clock)  # a signed slash command sent again runs once
    routing = RoutingActions(services.units, alerts, TeamService(services.units, alerts))
    RoutingRoutes(routing, services.screens).install(slack_app, managers)  # Accept, and a manager's Reassign
    commands = SlashCommands(store, services.screens, clock, services.campaigns, readers, routing)
    commands.install(slack_app, managers, replays)
    host, port = settings.slack_http_host, settings.slack_http_port
    return SlackChannel(slack_app, settings.slack_app_token, host, port, Limits.of(settings)), readers
