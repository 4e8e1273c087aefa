"""A first run that explains itself: what a new operator reads when a setting is missing or wrong, when the
network is down, once the bot is up, and in stats before anything has happened. Real `referral-bot` processes,
against the emulators or against addresses where nothing answers; nothing here needs the network."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.demo import TOKEN
from bot.core.clock import FakeClock
from bot.program.rules import Program
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import TelegramEmulator

from conftest import ALERTS, MAYA, Operator, eventually, slack_settings, team_bot
from helpers import ask, environment, home_text, open_home, referral_bot, run, with_variants
from postgres import fresh_schema

NAME_NOT_ID = (
    "is not a channel id: use the id, such as C0123ABCD, not the name"
    " (in Slack, click the channel's name at the top: the id is at the bottom of the About tab)"
)
OFFLINE = (
    "checked offline: nothing was sent to Telegram or Slack and the database was not opened;"
    " `referral-bot run` checks the tokens, the Slack channels and the database when it starts"
)
Check = Callable[[list[str]], Awaitable[None]]
NETWORK = "This is a network problem or the server is down (if the address is wrong, fix {})"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, so a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def slack_env(slack: SlackEmulator, mode: str, **overrides: object) -> dict[str, str]:
    return {key.upper(): str(value) for key, value in (slack_settings(slack, mode) | overrides).items()}


# --- check and run refuse the same things -------------------------------------------------------------


async def test_check_lists_every_problem_run_would_refuse_and_says_it_checked_offline(tmp_path: Path) -> None:
    code, out, err = await run(
        tmp_path,
        "check",
        TELEGRAM_BOT_TOKEN="",
        SQLITE_SYNCHRONOUS="SOMETIMES",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_ALERT_CHANNEL="#referrals",
        SLACK_SUPPORT_CHANNEL="customer-care",
        DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'referrals.db'}",
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "referral-bot check: setting SQLITE_SYNCHRONOUS: Input should be 'FULL', 'EXTRA' or 'NORMAL'",
        "referral-bot check: setting TELEGRAM_BOT_TOKEN: required to run the bot (the token @BotFather gave you)",
        f"referral-bot check: setting SLACK_ALERT_CHANNEL: '#referrals' {NAME_NOT_ID}",
        f"referral-bot check: setting SLACK_SUPPORT_CHANNEL: 'customer-care' {NAME_NOT_ID}",
        "referral-bot check: setting SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is needed (Socket Mode or HTTP mode)",
        f"referral-bot check: setting DATABASE_URL: the folder {tmp_path / 'data'} does not exist",
        f"referral-bot check: 6 problems; {OFFLINE}",
    ]
    code, out, err = await run(tmp_path, "check")
    assert code == 0 and err == ""
    assert out.splitlines()[1] == OFFLINE


async def test_run_refuses_a_channel_name_with_the_line_check_gives(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    env = environment(telegram, tmp_path, **slack_env(slack, "socket", slack_alert_channel="#referrals"))
    process = await referral_bot(tmp_path, env, "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert stderr.decode().splitlines() == [
        f"referral-bot run: setting SLACK_ALERT_CHANNEL: '#referrals' {NAME_NOT_ID}"
    ]
    assert not slack.calls  # refused before Slack was asked anything


# --- the network is down at start-up ------------------------------------------------------------------


def unreachable_hosts() -> list[Any]:
    """A closed port (refused at once) and a name that never resolves (.invalid is reserved for that)."""
    port = closed_port()
    return [
        pytest.param(f"127.0.0.1:{port}", f"the connection to 127.0.0.1:{port} was refused", id="refused"),
        pytest.param(
            "no-such-host.invalid",
            r"the host name no-such-host\.invalid could not be resolved \(DNS: [^)]+\)",
            id="unresolved",
        ),
    ]


@pytest.mark.parametrize("command", [["run"], ["ask", "--segment", "customer"]], ids=" ".join)
@pytest.mark.parametrize(("host", "reason"), unreachable_hosts())
async def test_the_bot_api_that_cannot_be_reached_is_named_without_the_token_and_run_exits_to_be_restarted(
    tmp_path: Path, command: list[str], host: str, reason: str
) -> None:
    env = environment(None, tmp_path, TELEGRAM_API_URL=f"http://{host}/bot")
    process = await referral_bot(tmp_path, env, *command)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 1  # the unit restarts on 1, not on 2: a network comes back
    line = re.escape(f"referral-bot {command[0]}: cannot reach the Telegram Bot API at http://{host}/bot: ")
    line += reason + re.escape(". " + NETWORK.format("TELEGRAM_API_URL"))
    assert re.fullmatch(line, stderr.decode().strip()), stderr.decode()
    assert TOKEN.split(":")[1] not in stderr.decode()


@pytest.mark.parametrize(("host", "reason"), unreachable_hosts())
async def test_run_says_the_slack_api_cannot_be_reached_and_exits_to_be_restarted(
    telegram: TelegramEmulator, tmp_path: Path, host: str, reason: str
) -> None:
    slack = {"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_APP_TOKEN": "xapp-1", "SLACK_ALERT_CHANNEL": ALERTS}
    env = environment(telegram, tmp_path, SLACK_API_URL=f"http://{host}/api/", **slack)
    process = await referral_bot(tmp_path, env, "run")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 1
    line = re.escape(f"referral-bot run: cannot reach the Slack Web API at http://{host}/api/: ")
    line += reason + re.escape(". " + NETWORK.format("SLACK_API_URL"))
    assert re.fullmatch(line, stderr.decode().strip().splitlines()[-1]), stderr.decode()
    assert "xoxb-secret" not in stderr.decode() and "Traceback" not in stderr.decode()


@pytest.mark.parametrize("command", ["migrate", "run", "stats"])
@pytest.mark.parametrize(("host", "reason"), unreachable_hosts())
async def test_a_database_that_cannot_be_reached_is_one_line_without_its_password(
    tmp_path: Path, command: str, host: str, reason: str
) -> None:
    code, out, err = await run(tmp_path, command, DATABASE_URL=f"postgresql://user:secretpw@{host}/db")
    assert code == 1 and out == ""
    line = re.escape(f"referral-bot {command}: cannot reach the database at postgresql://user:***@{host}/db: ")
    line += reason + re.escape(". " + NETWORK.format("DATABASE_URL"))
    assert re.fullmatch(line, err.strip()), err


async def test_a_database_that_refuses_the_role_is_one_line_without_its_password(tmp_path: Path) -> None:
    with fresh_schema() as schema:  # a server that answers, and says no
        address = schema.url.split("@", 1)[1]
        code, out, err = await run(tmp_path, "migrate", DATABASE_URL=f"postgresql://nobody:secretpw@{address}")
    assert code == 2 and out == ""
    assert err.strip() == (
        f'referral-bot migrate: setting DATABASE_URL: cannot open postgresql://nobody:***@{address}: role "nobody"'
        " does not exist"
    )


# --- once it is up: what runs, and where ---------------------------------------------------------------


async def summary(
    tmp_path: Path, env: dict[str, str], ready: Callable[[], bool], meanwhile: Check | None = None
) -> list[str]:
    """`referral-bot run` until it has said where its data is (the summary's last line) and is `ready()` (serving,
    so it stops cleanly), then SIGTERM: the lines of the logger `bot`. `meanwhile` looks at the running bot."""
    process = await referral_bot(tmp_path, env, "run")
    assert process.stderr is not None
    said: list[str] = []
    try:
        while not any(" INFO bot: database: " in line for line in said):
            line = await asyncio.wait_for(process.stderr.readline(), timeout=30)
            assert line, f"the bot stopped before its summary: {said}"
            said.append(line.decode())
        await eventually(ready, timeout=30)
        if meanwhile is not None:
            await meanwhile(bot_lines(said))
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, rest.decode()
    return bot_lines(said)


def polling(telegram: TelegramEmulator) -> Callable[[], bool]:
    return lambda: any(request.method == "getUpdates" for request in telegram.requests)


def bot_lines(said: list[str]) -> list[str]:
    return [line.split(" INFO bot: ", 1)[1].rstrip("\n") for line in said if " INFO bot: " in line]


async def test_run_sums_up_the_bot_and_its_link_polling_the_slack_port_and_the_database(
    telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path
) -> None:
    async def post_unsigned(logged: list[str]) -> None:
        port = next(found[1] for line in logged if (found := re.match(r"Slack: HTTP on port (\d+),", line)))
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"http://127.0.0.1:{port}/slack/events", data=b"{}") as response,
        ):
            assert response.status == 401  # bolt, refusing an unsigned request: the port the summary names

    env = environment(telegram, tmp_path, **slack_env(slack, "http"))
    logged = await summary(tmp_path, env, polling(telegram), post_unsigned)
    port = re.fullmatch(r"Slack: HTTP on port (\d+), events at /slack/events; alerts to C0ALERTS", logged[2])
    assert port is not None, logged
    assert logged == [
        "running: Acme Coffee",
        "Telegram: @AcmeReferralBot (https://t.me/AcmeReferralBot), polling for updates",
        f"Slack: HTTP on port {port[1]}, events at /slack/events; alerts to C0ALERTS",
        f"database: sqlite:///{tmp_path / 'referrals.db'}",
    ]


async def test_run_sums_up_socket_mode(telegram: TelegramEmulator, slack: SlackEmulator, tmp_path: Path) -> None:
    logged = await summary(tmp_path, environment(telegram, tmp_path, **slack_env(slack, "socket")), polling(telegram))
    assert "Slack: Socket Mode; alerts to C0ALERTS" in logged


async def test_run_says_alerts_go_nowhere_without_slack_and_names_the_webhook(
    telegram: TelegramEmulator, tmp_path: Path
) -> None:
    webhook = {
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram",
        "TELEGRAM_WEBHOOK_SECRET": "s" * 20,
        "TELEGRAM_WEBHOOK_HOST": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": "0",
    }
    logged = await summary(tmp_path, environment(telegram, tmp_path, **webhook), lambda: bool(telegram.webhook.url))
    assert logged[1:3] == [
        "Telegram: @AcmeReferralBot (https://t.me/AcmeReferralBot), webhook at https://bot.example.com/telegram",
        "Slack: off (SLACK_BOT_TOKEN is empty): referral alerts go nowhere",
    ]


async def test_the_summary_hides_the_database_password(telegram: TelegramEmulator, tmp_path: Path) -> None:
    with fresh_schema() as schema:
        url = schema.url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")
        assert "hunter2" in url  # the server trusts the local user, so any password opens it
        logged = await summary(tmp_path, environment(telegram, tmp_path, DATABASE_URL=url), polling(telegram))
    assert logged[-1] == f"database: {url.replace(':hunter2@', ':***@')}"
    assert "hunter2" not in "\n".join(logged)


# --- stats before anything happened --------------------------------------------------------------------


async def test_empty_stats_say_n_a_on_the_command_line(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, "stats", "all")
    assert code == 0
    lines = out.splitlines()
    assert "Conversion rate: n/a" in lines and "SLA breaches: n/a" in lines
    assert "0 of 0" not in out
    assert [line for line in lines if "%" in line and not against_a_target(line)] == []


async def test_empty_stats_say_n_a_in_slack_and_on_the_home_tab(
    telegram: TelegramEmulator, slack: SlackEmulator, program: Program, clock: FakeClock, operator: Operator
) -> None:
    async with team_bot(telegram, slack, with_variants(program), clock, operator.path):
        stats = await ask(slack, MAYA, "stats")
        await open_home(slack, MAYA)
        home = home_text(slack, MAYA)
    assert "Conversion rate: *n/a*" in stats and "SLA breaches: *n/a*" in stats
    assert "• `warm`: shared 0 · arrived 0 · converted 0 (n/a) · too little data to compare" in stats
    assert "• `plain`: shared 0 · arrived 0 · converted 0 (n/a) · too little data to compare" in stats
    assert [line for line in stats.splitlines() if "%" in line and not against_a_target(line)] == []
    assert "Conversion rate: *n/a*" in home and "SLA breaches: *n/a*" in home
    assert [line for line in home.splitlines() if "%" in line and not against_a_target(line)] == []


def against_a_target(line: str) -> bool:
    """A goal's or the break-even's progress: a share of a target the program sets, never of nothing."""
    return " of 40 conversions (0%)" in line or ("Break-even" in line and " of 1 (0%)" in line)


# --- backup and --help ----------------------------------------------------------------------------------


async def test_backup_into_a_folder_that_does_not_exist_names_it_and_leaves_nothing(tmp_path: Path) -> None:
    assert (await run(tmp_path, "migrate"))[0] == 0  # a database to back up
    before = files(tmp_path)
    target = tmp_path / "backups" / "referrals.db"
    code, out, err = await run(tmp_path, "backup", str(target))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"referral-bot backup: the folder {tmp_path / 'backups'} does not exist; create it first"
    ]
    assert files(tmp_path) == before


def files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize(
    ("command", "flag"),
    [((), "--version"), (("ask",), "--dry-run"), (("forget",), "--yes")],
    ids=["referral-bot", "ask", "forget"],
)
async def test_help_shows_flags_as_flags(tmp_path: Path, command: tuple[str, ...], flag: str) -> None:
    code, out, _ = await run(tmp_path, *command, "--help", COLUMNS="200")
    assert code == 0
    assert re.search(rf"{re.escape(flag)} +[A-Z]", out), out  # the flag, then straight on to its help text
    assert "--help " in out and "<bool>" not in out
