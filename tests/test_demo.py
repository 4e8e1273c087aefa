"""`referral-bot demo` as a first-time viewer runs it: a real process, in a folder of their own, read off the screen."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SGR = re.compile(r"\x1b\[([0-9;]*)m")
ANY_ESCAPE = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")  # colours, and the hyperlinks rich draws
TELEGRAM_BUTTONS = (
    "📣 Share in a chat",
    "✉️ Share",
    "📋 Copy link",
    "🔳 QR code",
    "🤝 Refer a friend",
    "📊 My referrals",
    "Open Acme Coffee",
    "📞 Share my phone number",
)
SLACK_BUTTONS = ("Claim", "Contacted", "Converted", "Lost", "Flag", "Message friend", "Call script")


@dataclass(frozen=True)
class Screen:
    raw: str  # with the terminal's escape codes

    @property
    def lines(self) -> list[str]:
        return ANY_ESCAPE.sub("", self.raw).splitlines()

    @property
    def prose(self) -> str:
        """The words as read, whatever the line breaks."""
        return " ".join(" ".join(self.lines).split())

    def is_bold(self, text: str) -> bool:
        """Whether the text is drawn bold: the last style set before it includes SGR 1."""
        for match in re.finditer(re.escape(text), self.raw):
            styles = SGR.findall(self.raw, 0, match.start())
            if styles and "1" in styles[-1].split(";"):
                return True
        return False


def watch_demo(tmp_path: Path, columns: int) -> Screen:
    """The demo in a terminal this wide, run from a folder of the viewer's own, not from the source tree."""
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLORTERM")}
    env |= {"COLUMNS": str(columns), "LINES": "50", "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return Screen(done.stdout)


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Screen:
    return watch_demo(tmp_path_factory.mktemp("demo"), columns=100)


def test_slack_and_telegram_formatting_is_shown_as_formatting_not_marks(screen: Screen) -> None:
    assert "New referral · Ben was referred by Ana" in screen.prose
    assert screen.is_bold("New referral") and screen.is_bold("Waiting to be claimed")
    assert not re.search(r"\*\w[^*\n]*\*", screen.prose), "Slack's *bold* marks are on screen"
    assert screen.is_bold("@rita")  # a mention stands out, as in Slack
    assert screen.is_bold("Who is a great fit")  # Telegram's <b>, drawn as Telegram draws it


def test_every_button_label_stays_whole_on_one_line(screen: Screen) -> None:
    for label in TELEGRAM_BUTTONS + SLACK_BUTTONS:
        assert any(f" {label} " in line for line in screen.lines), f"{label!r} is broken across lines"


def test_on_a_narrow_terminal_buttons_wrap_between_labels(tmp_path: Path) -> None:
    narrow = watch_demo(tmp_path, columns=64)
    for label in TELEGRAM_BUTTONS + SLACK_BUTTONS:
        assert any(f" {label} " in line for line in narrow.lines), f"{label!r} is broken across lines"
    first = next(n for n, line in enumerate(narrow.lines) if " Claim " in line and " Flag " in line)
    assert " Message friend " in narrow.lines[first + 1]  # the alert's last button, whole on the next line


def test_the_rep_who_claims_is_shown_the_call_script(screen: Screen) -> None:
    shown = screen.prose.find("Slack · #referrals, only visible to Rita")
    assert shown != -1 and "Call script · Ben, referred by Ana (customer)" in screen.prose[shown:]
    assert screen.prose.index("Ana is a customer of ours", shown) < screen.prose.index("after her call with Ben")


def test_money_is_shown_with_its_currency(screen: Screen) -> None:
    assert "a 1,200 EUR deal" in screen.prose
    assert "│ €1,200" in "\n".join(screen.lines)  # what Rita types into the deal value field
    (row,) = [line for line in screen.lines if "converted" in line and "Ana" in line and "Ben" in line]
    assert "1,200.00 EUR" in row


def test_the_sla_is_explained_where_it_is_first_mentioned(screen: Screen) -> None:
    explained = screen.prose.find("speed-to-lead SLA (how fast a rep must claim a new referral: 5 minutes here)")
    assert explained != -1 and screen.prose.index("SLA") == explained + len("speed-to-lead ")


def test_it_says_that_nothing_was_saved(screen: Screen) -> None:
    assert "no token and no network, keeps its database in a temporary folder, and saves nothing" in screen.prose
    assert (
        "Nothing was saved: the database lived in a temporary folder that is now deleted, and every message went to"
        " the emulators on this computer, never to Telegram or Slack." in screen.prose
    )


def test_it_ends_with_what_to_do_next(screen: Screen) -> None:
    ending = " ".join(" ".join(screen.lines[-8:]).split())
    steps = (
        "What to do next, in a folder of your own:",
        "1. referral-bot init writes a starting .env and program.toml in this folder",
        "2. get a bot token from @BotFather in Telegram, put it in .env",
        "3. referral-bot check checks the settings and the program",
        "4. referral-bot run runs your referral program",
        "see “Deploying it on a server” in the README:",
        "https://github.com/referral-bot/referral-bot#deploying-it-on-a-server",
    )
    positions = [ending.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), ending
