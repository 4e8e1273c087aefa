"""Alerts to the sales team: what a referral looks like to a rep, and the Slack rows that show it.

Rows carry references, not rendered text, for the alert itself: the Slack sender renders the
referral as it is at send time, so a refreshed alert always shows the current state.

A referral arriving or moving on also queues a refresh of each manager's App Home dashboard, but at most one per
manager per window: the outbox row's dedupe key names the window and the row is due at its end, so a burst of
changes costs one views.publish per manager, rendered at send time from the figures as they are then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.models import Customer, Referral, Status
from bot.core.subjects import friend_of
from bot.core.unit_of_work import Work
from bot.program.texts import Texts
from storage.base import Store


@dataclass(frozen=True)
class Team:
    alert_channel: str
    managers: frozenset[str]
    support_channel: str = ""  # unhappy customers (NPS detractors); the alert channel when not set

    @property
    def support_chat(self) -> str:
        return self.support_channel or self.alert_channel

    def is_manager(self, user_id: str) -> bool:
        return user_id in self.managers


@dataclass(frozen=True)
class AlertView:
    """Everything a rep sees about one referral."""

    referral: Referral
    referrer: Customer
    referrer_conversions: int
    friend: Customer | None
    contact: str | None  # only when the friend agreed to be contacted
    now: datetime
    team_since: datetime | None = None  # when the team got it, as its claim timers count (None: at its arrival)
    offered_to: str | None = None  # the rep routing offered it to, while their offer waits (bot/team/routing.py)

    def friend_name(self, screens: Texts, locale: str | None = None) -> str:
        """The friend as the card names them; a forgotten friend keeps no name, and is "a friend" in `locale`'s words
        (the team's when None)."""
        if self.friend is not None and self.friend.display_name:
            return self.friend.display_name
        return self.referral.friend_name or screens.team_label("slack_friend_unnamed", locale)

    @property
    def writable(self) -> bool:
        """A rep can write to the friend: in Telegram, or by e-mail when they gave their address and their own
        consent (on the landing page)."""
        referral = self.referral
        by_mail = referral.friend_contact_kind == "email" and referral.friend_confirmed_at is not None
        return self.friend is not None or (by_mail and referral.friend_declined_at is None)

    @property
    def is_open(self) -> bool:
        return self.referral.status in {Status.NEW, Status.CLAIMED, Status.CONTACTED}

    @property
    def consent(self) -> str | None:
        """Whose word the consent to contact is: `friend` (theirs, given in Telegram), `referrer` (a contact typed
        with /refer, not confirmed by the friend yet), `declined` (the friend said no); None without a contact."""
        referral = self.referral
        if referral.friend_declined_at is not None:
            return "declined"
        if self.contact is None:
            return None
        return "friend" if referral.friend_confirmed_at is not None else "referrer"

    @property
    def consent_at(self) -> str | None:
        """When the friend answered for themselves, as the team reads it."""
        moment = self.referral.friend_declined_at or self.referral.friend_confirmed_at
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment is not None else None


def alert_key(referral_id: str) -> str:
    return f"alert:{referral_id}"


HOME_PLATFORM = "slack_home"  # the outbox lane for Home tab publishes
REFRESH_WINDOW_SECONDS = 30


def home_chat(user_id: str, opened: bool = False) -> str:
    """Outbox chat ids for a person's Home tab. A tab just opened gets its own, so it is not held behind
    a refresh that waits for the end of its window (a chat's rows go out in order)."""
    return f"home:{user_id}:opened" if opened else f"home:{user_id}"


def home_payload(user_id: str) -> dict[str, Any]:
    return {"kind": "home", "user": user_id}


HOME_OPENED = "slack.home_opened"
EVER = datetime(2000, 1, 1, tzinfo=UTC)


def home_actor(user_id: str) -> str:
    return f"slack:{user_id}"


async def note_home_opened(w: Work, user_id: str) -> None:
    """Remember (once) that this person looks at their Home tab: only they get refreshes."""
    if not await w.tx.count_events(HOME_OPENED, home_actor(user_id), EVER):
        await w.tx.log_event(HOME_OPENED, w.now, actor=home_actor(user_id))


async def queue_home_refresh(w: Work, team: Team) -> None:
    """One refresh per manager and window, for managers who have opened the Home tab at least once."""
    window = int(w.now.timestamp()) // REFRESH_WINDOW_SECONDS
    due = datetime.fromtimestamp((window + 1) * REFRESH_WINDOW_SECONDS, UTC)
    for manager in sorted(team.managers):
        if not await w.tx.count_events(HOME_OPENED, home_actor(manager), EVER):
            continue  # never looked: their tab is published when they first open it
        key = f"home:{manager}:{window}"
        await w.tx.enqueue(HOME_PLATFORM, home_chat(manager), home_payload(manager), key, due)


class Alerts:
    """Queues Slack rows about referrals, inside the caller's transaction."""

    def __init__(self, team: Team) -> None:
        self.team = team

    async def post(self, w: Work, referral_id: str) -> None:
        payload = {"kind": "alert", "referral_id": referral_id}
        await w.post("slack", self.team.alert_channel, payload, key=alert_key(referral_id))
        await queue_home_refresh(w, self.team)

    async def refresh(self, w: Work, referral_id: str) -> None:
        await w.post("slack", self.team.alert_channel, {"kind": "alert_update", "referral_id": referral_id})
        await queue_home_refresh(w, self.team)

    async def thread(self, w: Work, referral_id: str, text: str, about: Sequence[str] = ()) -> None:
        """A line in the referral's alert thread, which may name its friend (their reply, a nudge, an audit);
        `about` names whose names it carries besides the friend's."""
        payload = {"kind": "thread", "referral_id": referral_id, "text": text}
        await w.post("slack", self.team.alert_channel, payload, about=[friend_of(referral_id), *about])

    async def script(self, w: Work, referral_id: str, user_id: str) -> None:
        """The call script, shown only to this rep in the alert channel. A lane of its own per rep, so it is not
        held behind the channel's one post a second when alerts pile up; rendered when sent, so it names no one."""
        payload = {"kind": "script", "channel": self.team.alert_channel, "user": user_id, "referral_id": referral_id}
        await w.post("slack", f"script:{user_id}", payload)

    async def direct(
        self, w: Work, user_id: str, text: str, referral_id: str | None = None, about: Sequence[str] = ()
    ) -> None:
        """A DM to one of the team; `about` names whose names it carries besides the referral's friend."""
        payload = {"kind": "dm", "user": user_id, "text": text, "referral_id": referral_id}
        subjects = [*about, friend_of(referral_id)] if referral_id else list(about)
        await w.post("slack", f"dm:{user_id}", payload, about=subjects)

    async def support(self, w: Work, text: str, key: str, about: Sequence[str] = ()) -> None:
        """A message to the support channel, such as an unhappy customer's NPS answer (`about` names them)."""
        await w.post("slack", self.team.support_chat, {"kind": "notice", "text": text}, key=key, about=about)


async def load_alert(store: Store, referral_id: str, now: datetime, timed: bool = False) -> AlertView | None:
    """`timed`: with when the team got it, for a card's waiting time (a digest line or a script needs none)."""
    async with store.reading() as tx:  # called for every alert the sender renders: keep it off the write lock
        referral = await tx.referral(referral_id)
        if referral is None:
            return None
        referrer = await tx.customer(referral.referrer_id)
        friend = await tx.customer(referral.friend_telegram_id) if referral.friend_telegram_id else None
        others = [r for r in await tx.referrals_by(referral.referrer_id) if r.id != referral.id]
        conversions = sum(1 for r in others if r.status == Status.CONVERTED)
        offers = await tx.offers_of(referral_id)
        offered_to = next((offer.rep for offer in offers if offer.status == "pending"), None)
    assert referrer is not None  # a referral's referrer is a foreign key
    contacts = ", ".join(c for c in (referral.friend_contact, referral.friend_phone) if c)  # a landing friend: both
    contact = contacts if referral.friend_consent_at and contacts else None
    since = (await store.team_since([referral_id])).get(referral_id) if timed else None
    return AlertView(referral, referrer, conversions, friend, contact, now, since, offered_to)
