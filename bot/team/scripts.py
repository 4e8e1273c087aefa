"""Call scripts: what a rep reads on the call with a referred friend, in the words of the referrer's segment.

A script is the template `script_<segment>` (the referrer's segment), else the default `script`. It is rendered when
it is shown, from the referral as it is then: a friend who asked to be forgotten since is never named by it.
"""

from __future__ import annotations

from datetime import datetime

from bot.program.texts import Texts
from bot.team.alerts import AlertView, load_alert
from storage.base import Store

DEFAULT_SCRIPT = "script"


def script_names(segment: str) -> tuple[str, str]:
    """The templates tried for a referrer of this segment, in order."""
    return f"{DEFAULT_SCRIPT}_{segment}", DEFAULT_SCRIPT


def first_name(view: AlertView) -> str | None:
    """How the rep greets the friend: their Telegram first name, else the first word of the name the referrer gave."""
    if view.friend is not None and view.friend.first_name:
        return view.friend.first_name
    words = (view.referral.friend_name or "").split()
    return words[0] if words else None


def render_script(screens: Texts, view: AlertView, locale: str | None = None) -> str:
    """In `locale`, the language of the rep who reads it (the team's when None)."""
    referral, referrer = view.referral, view.referrer
    locale = locale or screens.team_locale
    incentives = screens.program.incentives
    segment = referrer.segment
    return screens.team_first(
        script_names(segment),
        locale,
        friend=view.friend_name(screens, locale),
        friend_first_name=first_name(view),
        referrer=referrer,
        segment=segment,
        segment_label=screens.team_label(f"segment_{segment}", locale),
        source=referral.source,
        source_label=screens.team_label(f"slack_source_{referral.source}", locale),
        note=referral.friend_note,
        contact=view.contact,
        conversions=view.referrer_conversions,
        # What this friend is offered and what the referrer earns follow the referrer's segment, as the rewards do.
        friend_incentive=incentives.for_side(segment, "friend").get(locale),
        referrer_reward=incentives.for_side(segment, "referrer").get(locale),
    )


async def call_script(
    store: Store, screens: Texts, referral_id: str, now: datetime, locale: str | None = None
) -> str | None:
    """The referral's call script as it reads now, in `locale`; None when the referral is gone."""
    view = await load_alert(store, referral_id, now)
    return render_script(screens, view, locale) if view is not None else None
