"""users.getPresence: whether Slack shows a person active or away, which tests set with `set_presence`."""

from typing import Literal

from sandbox.slack_models import JSONDict, SlackError


class SlackPresence:
    """Mixed into the emulator, beside the workspace that knows its people (`_users`)."""

    _users: dict[str, JSONDict]
    _presences: dict[str, str]

    def set_presence(self, user_id: str, presence: Literal["active", "away"]) -> None:
        """What Slack shows from now on: a person is `active` until they set themselves away (or go idle)."""
        assert user_id in self._users, f"add_user({user_id!r}, ...) first"
        self.__dict__.setdefault("_presences", {})[user_id] = presence

    def _users_get_presence(self, params: JSONDict) -> JSONDict:
        user = str(params.get("user", ""))
        if user not in self._users:
            raise SlackError("user_not_found")
        presence = self.__dict__.get("_presences", {}).get(user, "active")
        away = presence == "away"
        return {"presence": presence, "online": not away, "auto_away": False, "manual_away": away,
                "connection_count": 0 if away else 1}  # fmt: skip
