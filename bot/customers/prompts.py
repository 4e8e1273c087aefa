"""What prompted a referral, for the stats by source: the referrer's latest ask (an ask campaign, a trigger, the
request a promoter gets after their NPS answer) within the attribution window before the referral, if there was one.
A follow-up reminds of its ask, so it counts as that ask. A referral nobody asked for has none."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.core.models import Referral
from bot.core.unit_of_work import Work


async def prompt_of(w: Work, referrer_id: int, window: timedelta) -> str | None:
    """The ask log's reason (campaign:<id>, trigger:<name>, promoter) of the ask that prompted a referral now."""
    return await w.tx.latest_ask_reason(referrer_id, w.now - window)


async def with_prompt(w: Work, referral: Referral, window: timedelta) -> Referral:
    return replace(referral, prompted_by=await prompt_of(w, referral.referrer_id, window))
