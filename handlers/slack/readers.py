"""Which language one person of the team reads, as Slack says: users.info's `locale` ("es-ES"), asked when they act
(a slash command, a click, a modal, the Home tab opened).

The answer is kept in memory for an hour, so a burst of clicks costs one call, and in `team_members`, so the domain
writes their DMs (nudges, escalations) in it too and another instance knows it. A language we do not speak, a person
Slack does not know, or an app installed without the `users:read` scope all leave the team's locale (TEAM_LOCALE) in
force: a person's language is a courtesy, and it never stops a click from working."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.program.texts import Texts
from messages.renderer import normalize_locale
from storage.base import Store

log = logging.getLogger(__name__)
KEPT_FOR = timedelta(hours=1)  # people rarely change Slack's language; an hour's delay after they do is fine


def spoken(slack_locale: str | None) -> str | None:
    """Slack's locale ("es-ES", "fa-IR") as one we speak; None for any other, so the team's applies."""
    return normalize_locale(slack_locale, "") or None


class Readers:
    def __init__(self, client: AsyncWebClient, store: Store, screens: Texts, clock: Clock) -> None:
        self._client, self._store, self._screens, self._clock = client, store, screens, clock
        self._known: dict[str, tuple[str | None, datetime]] = {}  # user id -> (their language, when asked)
        self._no_scope_until: datetime | None = None
        self._told_no_scope = False

    async def locale(self, user_id: str) -> str:
        """The language `user_id` reads: their own where known, else the team's."""
        return await self.own(user_id) or self._screens.team_locale

    async def own(self, user_id: str) -> str | None:
        """Their own language (None: not known), from memory, else Slack, else what is kept in team_members."""
        now = self._clock.now()
        known = self._known.get(user_id)
        if known is not None and now - known[1] < KEPT_FOR:
            return known[0]
        asked, locale = await self._ask_slack(user_id, now)
        if asked:
            async with self._store.transaction() as tx:
                await tx.set_member_locale(user_id, locale, now)
        else:  # Slack did not say: what another instance or an earlier answer left, if anything
            async with self._store.reading() as tx:
                member = await tx.team_member(user_id)
            locale = member.locale if member is not None else None
        self._known[user_id] = (locale, now)
        return locale

    async def _ask_slack(self, user_id: str, now: datetime) -> tuple[bool, str | None]:
        """(True, their language) when Slack answered; (False, None) when it could not or may not."""
        if not user_id or (self._no_scope_until is not None and now < self._no_scope_until):
            return False, None
        try:
            answer = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown_error"))
            if code == "missing_scope":
                self._no_scope_until = now + KEPT_FOR  # asked again later: the scope may be granted meanwhile
                if not self._told_no_scope:
                    self._told_no_scope = True
                    log.warning("Slack gives no users:read scope: the team side speaks TEAM_LOCALE to everyone")
            else:
                log.info("Slack did not say which language %s reads: %s", user_id, code)
            return False, None
        except (SlackClientError, OSError, TimeoutError) as error:
            log.info("Slack did not say which language %s reads: %s", user_id, error)
            return False, None
        return True, spoken(str((answer.get("user") or {}).get("locale") or ""))


async def kept_locale(store: Store, screens: Texts, user_id: str) -> str:
    """The language kept for `user_id` (team_members), else the team's: for what is rendered when an outbox row is
    sent to one person (their Home tab, their call script), long after they acted."""
    async with store.reading() as tx:
        member = await tx.team_member(user_id)
    return member.locale if member is not None and member.locale else screens.team_locale
