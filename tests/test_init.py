"""A new user's first two commands: `referral-bot --version` and `referral-bot init`, run as a real process in an
empty folder."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from conftest import ROOT


def referral_bot(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )


def test_version_is_the_released_one(tmp_path: Path) -> None:
    released = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    done = referral_bot(tmp_path, "--version")
    assert (done.returncode, done.stdout) == (0, f"referral-bot {released}\n")


def test_init_writes_a_starting_program_and_private_settings_then_leaves_them_alone(tmp_path: Path) -> None:
    first = referral_bot(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert "wrote .env" in first.stdout and "wrote program.toml" in first.stdout
    assert "@BotFather" in first.stdout and "referral-bot check" in first.stdout
    assert "TELEGRAM_BOT_TOKEN=" in (tmp_path / ".env").read_text()
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600  # it will hold the tokens
    assert (tmp_path / "program.toml").read_text() == (ROOT / "program.example.toml").read_text()

    (tmp_path / "program.toml").write_text('[program]\nname = "Mine"\n')
    again = referral_bot(tmp_path, "init")
    assert again.returncode == 0
    assert "kept program.toml: it already exists" in again.stdout
    assert (tmp_path / "program.toml").read_text() == '[program]\nname = "Mine"\n'


def test_init_into_a_missing_folder_says_which(tmp_path: Path) -> None:
    done = referral_bot(tmp_path, "init", "nowhere")
    assert done.returncode == 2
    assert "nowhere/.env" in done.stderr
    assert not (tmp_path / "nowhere").exists()


def test_an_incomplete_installation_says_so_and_is_not_restarted(tmp_path: Path) -> None:
    """A package left out of an install (as handlers.http once was from the wheel) is one line and status 2, which
    the systemd unit does not restart in a loop."""
    broken = tmp_path / "site"
    for package in ("bot", "handlers", "messages", "storage", "sandbox"):
        shutil.copytree(ROOT / package, broken / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(broken / "handlers" / "http")
    shutil.copy(ROOT / "program.example.toml", tmp_path / "program.toml")
    # Without site (-S), so the development install's import hook cannot fill the gap from the checkout.
    path = os.pathsep.join([str(broken), sysconfig.get_paths()["purelib"]])
    env = {**os.environ, "PYTHONPATH": path, "TELEGRAM_BOT_TOKEN": "123456:ABC"}
    done = subprocess.run(
        [sys.executable, "-S", "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "referral-bot run: this installation is incomplete (No module named 'handlers.http'): install referral-bot"
        " again"
    ]
