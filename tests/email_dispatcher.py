"""For the e-mail crash test: the outbox dispatcher with only the e-mail sender, as a process that can be killed.

    python tests/email_dispatcher.py <DATABASE_URL> <SMTP_URL>

It sends until SIGTERM. Its lease is short, so a restart sends what a killed run left leased within seconds on
either backend (PostgreSQL never takes a lease over early: another instance may hold it).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from bot.core.clock import SystemClock
from bot.delivery.outbox import Dispatcher, DispatchPolicy
from handlers.email import EmailSender, SmtpConfig
from storage import open_store

SENDER = "Referrals <referrals@example.com>"
POLICY = DispatchPolicy(lease=timedelta(seconds=2), idle_wait=0.05, claim_gap=0.0, max_backoff=0.05, rates=())


async def main(database_url: str, smtp_url: str) -> None:
    store = await open_store(database_url)
    clock = SystemClock()
    try:
        async with EmailSender(SmtpConfig.parse(smtp_url, SENDER), store, clock.now) as sender:
            dispatcher = Dispatcher(store, {"email": sender}, clock, POLICY)
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, dispatcher.stop)
            await dispatcher.run()
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
