"""`referral-bot playground`: the real engine against the emulators, on a throwaway database, shown in the browser
until Ctrl-C."""

from __future__ import annotations

import logging
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from bot.app.emulated import MONDAY_MORNING, emulated_bot
from bot.app.examples import PROGRAM_EXAMPLE
from bot.app.playground.server import HOST, Playground
from bot.core.clock import FakeClock
from bot.core.errors import ConfigError
from bot.program.rules import load_program


async def run_playground(program_file: Path | None = None, port: int = 0) -> int:
    logging.basicConfig(level=logging.ERROR)
    program = load_program(program_file or PROGRAM_EXAMPLE)
    clock = FakeClock(MONDAY_MORNING)  # the team is at work; the page's time buttons move it on
    with tempfile.TemporaryDirectory(prefix="referral-bot-playground-") as workdir:
        async with AsyncExitStack() as running:
            world = await running.enter_async_context(emulated_bot(program, clock, Path(workdir) / "playground.db"))
            try:
                site = await running.enter_async_context(Playground(world, program, port))
            except OSError as exc:  # the port is taken, or below 1024 for someone not root
                raise ConfigError(f"cannot listen on {HOST}:{port} ({exc.strerror}): choose another --port") from None
            print(f"playground: {site.url}", flush=True)
            print("playground: open it in a browser; Ctrl-C stops it and deletes its database", flush=True)
            await world.engine.serve()
    print("playground: stopped, and its database is deleted", flush=True)
    return 0
