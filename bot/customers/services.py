"""The domain services a chat adapter calls, built once by the wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.links import Links
from bot.core.unit_of_work import Units
from bot.customers.direct_referral import DirectReferrals
from bot.customers.landing import LandingService
from bot.customers.preferences import Preferences
from bot.customers.referrals import ReferralService
from bot.delivery.mail import EmailPreferences, Mailer
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
class Outside:
    """How the services reach people outside Telegram: PUBLIC_URL for web links (none when empty), whether e-mail
    is set up, and how long an e-mailed advocate's personal link works."""

    public_url: str = ""
    mail: bool = False
    advocate_link_days: int = 30


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
    landing: LandingService
    email_preferences: EmailPreferences

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
        outside: Outside | None = None,
        team_locale: str = "en",
    ) -> CustomerServices:
        outside = outside or Outside()
        screens = Texts(renderer, program, Links(bot_username, outside.public_url), team_locale)
        units = Units(store, program, screens, clock, wake, webhooks or Webhooks(), alerts)
        mailer = Mailer(units)
        units.mail_enabled, units.advocate_link_days = outside.mail, outside.advocate_link_days
        units.elsewhere = mailer.notice  # customers not on Telegram yet get their messages by e-mail
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
            landing=LandingService(units, referrals, mailer),
            email_preferences=EmailPreferences(units),
        )
