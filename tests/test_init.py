"""A new user's first two commands: `referral-bot --version` and `referral-bot init`, run as a real process in an
empty folder."""

from __future__ import annotations

import stat
import subprocess
import sys
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
