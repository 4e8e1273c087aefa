"""What the playground's page draws of the bot's formatted text: runs of text, each with its marks and any link."""

from __future__ import annotations

from bot.app.playground.formatting import slack_runs, telegram_runs


def test_what_the_page_draws_of_formatted_text() -> None:
    """Telegram's entities counted in UTF-16 (an emoji is two), links typed as text, and Slack's mrkdwn, as runs of
    text with their marks; a link that is not http(s), mailto or tel is drawn as text."""

    def link(url: str) -> dict[str, str]:
        return {"href": url} if url.startswith("https://") else {}

    bold = {"type": "bold", "offset": 3, "length": 3}  # after the emoji's two UTF-16 units and a space
    script = {"type": "text_link", "offset": 7, "length": 2, "url": "javascript:alert(1)"}
    assert telegram_runs("🎉 Ana is\nhttps://t.me/x.", [bold, script], link) == [
        {"t": "🎉 ", "m": []},
        {"t": "Ana", "m": ["b"]},
        {"t": " ", "m": []},
        {"t": "is", "m": []},
        {"t": "\n", "m": []},
        {"t": "https://t.me/x", "m": [], "href": "https://t.me/x"},
        {"t": ".", "m": []},
    ]
    assert slack_runs("*Hi* <@U0RITA> `x` <https://a.b|here> :tada: &lt;b&gt;", {"U0RITA": "rita"}, link) == [
        {"t": "Hi", "m": ["b"]},
        {"t": " ", "m": []},
        {"t": "@rita", "m": ["b", "mention"]},
        {"t": " ", "m": []},
        {"t": "x", "m": ["code"]},
        {"t": " ", "m": []},
        {"t": "here", "m": [], "href": "https://a.b"},
        {"t": " 🎉 <b>", "m": []},
    ]
