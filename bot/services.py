"""The domain services a chat adapter calls, built once by the wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.alerts import Alerts
from bot.asks import AskAnswers, AskCampaigns
from bot.clock import Clock
from bot.direct_referral import DirectReferrals
from bot.links import Links
from bot.nps import NpsService
from bot.preferences import Preferences
from bot.program import Program
from bot.referrals import ReferralService
from bot.screens import Screens
from bot.survey import SurveyService
from bot.unit_of_work import Units
from messages import Renderer
from storage.base import Store


@dataclass(frozen=True)
class CustomerServices:
    referrals: ReferralService
    direct: DirectReferrals
    preferences: Preferences
    screens: Screens
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
    ) -> CustomerServices:
        screens = Screens(renderer, program, Links(bot_username))
        units = Units(store, program, screens, clock, wake, alerts)
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
