"""The deployment files an operator installs: the Slack app manifest declares everything the code uses, and
the systemd units run, stop and back up the bot as the README says."""

from __future__ import annotations

import configparser
import re
from typing import Any

import yaml

from bot.core.engine import GRACE_SECONDS

from conftest import ROOT

DEPLOY = ROOT / "deploy"
# The bot scope each Web API method needs (methods that need none, such as views.publish, are listed empty).
SCOPES = {
    "auth_test": set(),
    "chat_postMessage": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_update": {"chat:write"},
    "conversations_open": {"im:write"},
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_info": {"channels:read"},
    "files_upload_v2": {"files:write"},
    "views_open": set(),
    "views_publish": set(),
    "users_info": {"users:read"},  # each person's language
    "users_getPresence": {"users:read"},  # routing skips reps Slack shows away
}


def source(*folders: str) -> str:
    return "\n".join(path.read_text() for folder in folders for path in (ROOT / folder).rglob("*.py"))


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "slack-app-manifest.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_manifest_declares_a_scope_for_every_web_api_method_the_code_calls() -> None:
    declared = set(manifest()["oauth_config"]["scopes"]["bot"])
    called = set(re.findall(r"client\.([A-Za-z_0-9]+)\(", source("bot", "handlers")))
    unknown = called - SCOPES.keys()
    assert not unknown, f"add the scope these Slack methods need to SCOPES and the manifest: {sorted(unknown)}"
    for method in called:
        assert SCOPES[method] <= declared, f"{method} needs {SCOPES[method] - declared}"
    assert {"commands", "users:read"} <= declared


def test_the_manifest_declares_the_command_the_events_and_socket_mode() -> None:
    app = manifest()
    commands = {entry["command"] for entry in app["features"]["slash_commands"]}
    assert set(re.findall(r'app\.command\("([^"]+)"[,)]', source("handlers/slack"))) == commands == {"/referrals"}
    events = set(app["settings"]["event_subscriptions"]["bot_events"])
    assert set(re.findall(r'app\.event\("([^"]+)"[,)]', source("handlers/slack"))) == events == {"app_home_opened"}
    assert app["features"]["app_home"]["home_tab_enabled"] is True
    assert app["settings"]["interactivity"]["is_enabled"] is True
    assert app["settings"]["socket_mode_enabled"] is True


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text())
    return parser


def test_the_service_restarts_on_failure_and_stops_with_sigterm_in_time() -> None:
    service = unit("referral-bot.service")["Service"]
    assert service["ExecStart"].endswith("/referral-bot run")
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > GRACE_SECONDS  # the engine's own grace for sends in flight
    assert service["RestartPreventExitStatus"] == "2"  # a start-up check failing is not retried in a loop
    assert {"User", "WorkingDirectory", "EnvironmentFile"} <= service.keys()


def test_backups_run_nightly_through_referral_bot_backup() -> None:
    backup = unit("referral-bot-backup.service")["Service"]
    assert backup["Type"] == "oneshot" and "referral-bot backup /var/backups/referral-bot/" in backup["ExecStart"]
    timer = unit("referral-bot-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:15:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
