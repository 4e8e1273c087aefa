"""Who gets the credit for a friend when their paths meet: a second link opened, or a friend a customer named with
/refer who reaches the bot through someone's link.

One rule for every meeting, `[attribution]` in program.toml: a referrer's credit lasts `window_days` from the moment
they got it. While it lasts, first_touch keeps it and last_touch gives it to the newer touch; once it has run out,
the newer touch takes it under either model. Credit moves only while the referral is open (new, claimed or
contacted): a converted, lost or held referral keeps its referrer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.models import Customer, Referral, Source, Status
from bot.core.notifications import friend_joined
from bot.core.subjects import person
from bot.core.unit_of_work import Units, Work
from bot.program.rules import Attribution
from bot.rewards.ledger import Rewards

OPEN_STATUSES = frozenset({Status.NEW, Status.CLAIMED, Status.CONTACTED})


def later_wins(rule: Attribution, earlier: datetime, later: datetime) -> bool:
    """Whether a touch at `later` takes the credit a touch at `earlier` holds."""
    return rule.model == "last_touch" or later - earlier > rule.window


def takes_credit(rule: Attribution, holder: Referral, at: datetime) -> bool:
    """Whether another referrer's touch at `at` takes this referral's credit."""
    return holder.status in OPEN_STATUSES and later_wins(rule, holder.credited_since, at)


def source_of(channel: str) -> Source:
    """How a touch reached the friend, by the channel its link carried (a kit item is a card too)."""
    if channel == "direct":
        return Source.DIRECT
    if channel == "landing":
        return Source.LANDING
    return Source.INLINE_SHARE if channel in ("inline", "kit") else Source.LINK


async def move_credit(
    w: Work,
    rewards: Rewards,
    referral: Referral,
    to: Customer,
    channel: str,
    since: datetime,
    actor: str,
    **changes: Any,
) -> None:
    """The referral and its referrer's rewards pass to `to`, whose credit runs from `since`; `changes` are other
    columns that follow the new referrer."""
    await w.tx.update_referral(
        referral.id,
        referrer_id=to.telegram_id,
        source=source_of(channel).value,
        channel=channel,
        credited_at=since,
        updated_at=w.now,
        **changes,
    )
    await w.tx.update_rewards_of(
        referral.id,
        "referrer",
        customer_id=to.telegram_id,
        description=rewards.rule(to, "referrer").get(to.language),
        updated_at=w.now,
    )
    await w.tx.log_event(
        "referral.reattributed",
        w.now,
        actor=actor,
        subject=referral.id,
        previous=referral.referrer_id,
        referrer=to.telegram_id,
    )


async def thank(units: Units, w: Work, rewards: Rewards, referrer: Customer, friend: Customer, held: bool) -> None:
    """The referrer hears that their friend arrived, and what they earn for it."""
    screens = units.screens
    reward = rewards.rule(referrer, "referrer").get(referrer.language)
    await w.send(
        screens.text(
            referrer,
            referrer.telegram_id,
            referrer.language,
            "referrer_thanks",
            friend_name=friend.display_name,
            held=held,
            referrer_reward=reward,
        ),
        about=[person(friend.telegram_id)],
        merge=friend_joined(referrer, friend.display_name, held, reward),
    )
