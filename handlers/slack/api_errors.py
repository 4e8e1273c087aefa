"""How a Slack Web API error code is handled by every sender."""

from __future__ import annotations

# Errors no retry can fix: the channel or person is gone, or the bot was removed.
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "user_not_found",
    "account_inactive",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "invalid_auth",
    "not_authed",
    "message_not_found",
}
