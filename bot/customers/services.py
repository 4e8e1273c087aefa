"""The domain services a chat adapter calls, built once by the wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.links import Links
from bot.core.unit_of_work import Units
from bot.customers.direct_referral import DirectReferrals
from bot.customers.preferences import Preferences
from bot.customers.referrals import ReferralService
from bot.engagement.asks import AskAnswers, AskCampaigns
from bot.engagement.nps import NpsService
from bot.engagement.survey import SurveyService
from bot.integrations.webhooks import Webhooks
from bot.program.rules import Program
from bot.program.texts import Texts
from bot.team.alerts import Alerts
from messages import Renderer
from storage.base import Store


@dataclass(frozen=True)
class CustomerServices:
    referrals: ReferralService
    direct: DirectReferrals
    preferences: Preferences
    screens: Texts
    units: Units
    asks: AskAnswers
    campaigns: AskCampaigns
    nps: NpsService
    survey: SurveyService

    @classmethod
    def build(
        cls,
        store: Store,
        program: Program,
        renderer: Renderer,
        bot_username: str,
        clock: Clock,
        wake: Callable[[], None],
        alerts: Alerts | None = None,
        webhooks: Webhooks | None = None,
    ) -> CustomerServices:
        screens = Texts(renderer, program, Links(bot_username))
        units = Units(store, program, screens, clock, wake, webhooks or Webhooks(), alerts)
        referrals = ReferralService(units)
        direct = DirectReferrals(units, referrals)
        asks, campaigns = AskAnswers(units), AskCampaigns(units)
        survey = SurveyService(units)
        return cls(
            referrals,
            direct,
            Preferences(units),
            screens,
            units,
            asks=asks,
            campaigns=campaigns,
            nps=NpsService(units, survey),
            survey=survey,
        )
