"""Links a customer shares: the personal deep link, per channel, Telegram's share page, and the web link of the
landing page for friends without Telegram."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from bot.core.codes import payload_for

ADVOCATE_PREFIX = "adv_"  # deep-link payloads that bind an imported advocate's Telegram account


@dataclass(frozen=True)
class Links:
    bot_username: str
    public_url: str = ""  # PUBLIC_URL, without a trailing slash; no web links when empty

    def personal(self, code: str, channel: str = "link") -> str:
        return f"https://t.me/{self.bot_username}?start={payload_for(code, channel)}"

    def bot(self) -> str:
        return f"https://t.me/{self.bot_username}"

    def share_page(self, code: str, text: str) -> str:
        query = urlencode({"url": self.personal(code, "share_page"), "text": text})
        return f"https://t.me/share/url?{query}"

    def web(self, code: str) -> str | None:
        """The landing page of a customer's link, when the business has one (PUBLIC_URL)."""
        return f"{self.public_url}/r/{code}" if self.public_url else None

    def advocate(self, token: str) -> str:
        """An imported advocate's personal link: opening it binds their Telegram account to their record."""
        return f"https://t.me/{self.bot_username}?start={ADVOCATE_PREFIX}{token}"

    def unsubscribe(self, token: str) -> str | None:
        return f"{self.public_url}/unsubscribe/{token}" if self.public_url else None
