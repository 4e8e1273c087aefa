"""The example program and settings, shipped in the package so an installed bot can start from them
(`referral-bot init` copies them; `referral-bot demo` runs the example program)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PROGRAM_EXAMPLE = Path(str(files(__name__) / "program.example.toml"))
ENV_EXAMPLE = Path(str(files(__name__) / "env.example"))
