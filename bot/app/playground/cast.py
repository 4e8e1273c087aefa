"""Who the visitor can be in the playground: in Telegram, Ana the customer, Ben her friend, and any number of new
friends (one speaks Persian, so right-to-left text can be tried); in Slack, the demo's rep and manager."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.app.demo_story import ANA, BEN
from bot.app.demo_transcript import MAYA, TEAM
from sandbox.telegram_people import FakeUser

JSONDict = dict[str, Any]
NEW_FRIENDS = (("Carla", "es"), ("دارا", "fa"), ("Eve", "en"), ("Femi", "en"), ("Gus", "es"))
FIRST_NEW_FRIEND = 3001


class Refused(Exception):
    """An action the person cannot take (a button gone since, an unknown person): told to the visitor, not raised."""


@dataclass(frozen=True)
class Person:
    user: FakeUser
    role: str  # customer | friend
    phone: str  # what the "share my phone number" button sends

    def to_dict(self) -> JSONDict:
        return {"id": self.user.id, "name": self.user.first_name, "role": self.role, "lang": self.user.language_code}


def first_people() -> list[tuple[int, str, str, str]]:
    """(id, name, role, language) of the people the playground starts with."""
    return [(ANA, "Ana", "customer", "en"), (BEN, "Ben", "friend", "en")]


def new_friend(count: int) -> tuple[int, str, str]:
    """The next new friend's id, name and language: the named ones first, then numbered ones."""
    name, language = NEW_FRIENDS[count] if count < len(NEW_FRIENDS) else (f"Friend {count + 1}", "en")
    return FIRST_NEW_FRIEND + count, name, language


def phone_of(user_id: int) -> str:
    return f"+34600{user_id:06d}"


def slack_people() -> list[JSONDict]:
    return [{"id": user, "name": full, "role": "manager" if user == MAYA else "rep"} for user, _, full in TEAM]


def slack_names() -> dict[str, str]:
    """How Slack shows a mention of each person: by their name."""
    return {user: name for user, name, _ in TEAM}
