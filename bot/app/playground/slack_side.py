"""What a visitor does as someone on the sales team, through the Slack emulator's person API: each click, form and
command reaches the bot as a signed HTTP request, as Slack's would."""

from __future__ import annotations

from typing import Any

from bot.app.demo_transcript import ALERTS, TEAM
from bot.app.playground.cast import JSONDict, Refused
from sandbox.slack_api import SlackEmulator
from sandbox.slack_models import PersonResponse, SharedFile, SlackMessage

COMMAND = "/referrals"


class SlackSide:
    def __init__(self, slack: SlackEmulator) -> None:
        self.slack = slack
        # Closing a modal sends Slack's view_closed only to apps that ask for it, and this one does not: the
        # playground just stops showing it.
        self.closed: set[str] = set()

    def user(self, user_id: Any) -> str:
        if user_id not in {user for user, _, _ in TEAM}:
            raise Refused(f"there is nobody with the id {user_id!r} on this Slack team")
        return str(user_id)

    def dm(self, user_id: str) -> str:
        """The bot's direct-message channel with the person (Slack has one for every member)."""
        return self.slack.dm_channel(user_id)

    def visible(self, user_id: str) -> list[SlackMessage]:
        """Every message the person can see: the channel and its threads, their DM with the bot, their ephemerals."""
        shared = [m for m in self.slack.all_messages() if m.channel in (ALERTS, self.dm(user_id))]
        return shared + self.slack.ephemerals(user_id)

    async def click(self, user_id: str, ts: Any, action_id: Any) -> str:
        message = next((m for m in self.visible(user_id) if m.ts == ts), None)
        if message is None:
            raise Refused("that message is gone")
        return _answered(await self.slack.click(user_id, message, str(action_id)))

    async def submit(self, user_id: str, view_id: Any, values: Any) -> JSONDict:
        """A modal's Submit: the bot's answer may name a problem beside a field, and then the modal stays open."""
        if not isinstance(values, dict) or not all(isinstance(answers, dict) for answers in values.values()):
            raise Refused("the form's answers did not arrive")
        typed = {str(block): {str(k): str(v)[:3000] for k, v in answers.items()} for block, answers in values.items()}
        response = await self.slack.submit_view(user_id, str(view_id), typed)
        answer = response.json or {}
        if response.status == 200 and answer.get("response_action") == "errors":
            return {"errors": answer.get("errors", {})}
        return {"note": _answered(response)}

    def close(self, user_id: str, view_id: Any) -> str:
        if any(view["id"] == view_id for view in self.slack.open_views(user_id)):
            self.closed.add(str(view_id))
        return ""

    async def command(self, user_id: str, line: str, in_channel: bool) -> str:
        """A line typed where Slack's message box is: only the bot's slash command does anything here."""
        command, _, text = line.strip().partition(" ")
        if command != COMMAND:
            raise Refused(f"only the bot's command works here: try {COMMAND} help")
        channel = ALERTS if in_channel else None
        return _answered(await self.slack.slash_command(user_id, command, text.strip(), channel_id=channel))

    async def open_home(self, user_id: str) -> str:
        """Opening the app's Home tab, which Slack tells the bot with an app_home_opened event."""
        return _answered(await self.slack.send_event(user_id, {"type": "app_home_opened", "tab": "home"}))

    def file(self, file_id: str) -> SharedFile | None:
        """A file the bot shared where someone on the team can see it, or uploaded for a view to show (App Home)."""
        places = [ALERTS, *(self.dm(user) for user, _, _ in TEAM)]
        shared = next((f for place in places for f in self.slack.files(place) if f.id == file_id), None)
        uploaded = self.slack.uploaded(file_id) if shared is None else None
        return SharedFile(file_id, uploaded[0], uploaded[0], uploaded[1], "") if uploaded else shared


def _answered(response: PersonResponse) -> str:
    """Slack's error when the bot does not answer in time, or the words of an answer Slack would show."""
    if response.status != 200:
        raise Refused(f"Slack could not reach the app (HTTP {response.status}): nothing happened")
    return str((response.json or {}).get("text") or "")
