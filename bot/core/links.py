"""Links a customer shares: the personal deep link, per channel, and Telegram's share page."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from bot.core.codes import payload_for


@dataclass(frozen=True)
class Links:
    bot_username: str

    def personal(self, code: str, channel: str = "link") -> str:
        return f"https://t.me/{self.bot_username}?start={payload_for(code, channel)}"

    def share_page(self, code: str, text: str) -> str:
        query = urlencode({"url": self.personal(code, "share_page"), "text": text})
        return f"https://t.me/share/url?{query}"
