"""Routing with two instances on one PostgreSQL database: referrals arrive through both, both routers run at once,
and still each referral is offered to exactly one rep at a time, in one rotation with no turn skipped or repeated."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.clock import FakeClock
from bot.core.models import ChatUser
from bot.customers.services import CustomerServices
from bot.program.routing import Routing
from bot.program.rules import Limits, Program
from bot.team.alerts import Alerts, Team
from bot.team.router import EveryoneThere, Router
from messages import Renderer
from storage import open_store

from conftest import ALERTS, BOT_USERNAME, MAYA, RITA, SAM
from postgres import Schema, fresh_schema

REPS = (RITA, SAM, "U0TOM")
REFERRERS, FRIENDS = 6, 36
MONDAY_10_MADRID = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Instance:
    services: CustomerServices
    router: Router


@asynccontextmanager
async def instances(schema: Schema, program: Program, clock: FakeClock) -> AsyncIterator[list[Instance]]:
    async with AsyncExitStack() as stack:
        running = []
        for _ in range(2):
            store = await open_store(schema.url)
            stack.push_async_callback(store.close)
            await store.migrate()
            alerts = Alerts(Team(ALERTS, frozenset({MAYA})))
            services = CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, lambda: None, alerts)
            running.append(Instance(services, Router(services.units, alerts, EveryoneThere())))
        yield running


async def route_until_settled(running: list[Instance], schema: Schema) -> None:
    """Both routers sweep side by side until nothing is due."""
    for _ in range(50):
        await asyncio.gather(*(instance.router.sweep() for instance in running))
        if not schema.rows("SELECT 1 FROM routes WHERE state = 'waiting'") and not _due(schema, running):
            return
    raise AssertionError("routes still due after 50 passes")


def _due(schema: Schema, running: list[Instance]) -> bool:
    now = running[0].services.units.clock.now().isoformat(timespec="microseconds")
    return bool(schema.rows("SELECT 1 FROM routes WHERE state = 'offered' AND due_at <= ?", now))


async def test_two_instances_offer_each_referral_once_in_one_rotation_without_skips(program: Program) -> None:
    clock = FakeClock(MONDAY_10_MADRID)
    routing = Routing(mode="round_robin", reps=REPS)
    program = program.model_copy(update={"routing": routing, "limits": Limits(velocity_per_hour=1000)})
    with fresh_schema() as schema:
        async with instances(schema, program, clock) as running:
            for number in range(REFERRERS):  # the referrers join through either instance
                user = ChatUser(1000 + number, f"Referrer{number}", language_code="en")
                await running[number % 2].services.referrals.start(f"join:{number}", user, None)
            codes = [row["referral_code"] for row in schema.rows("SELECT referral_code FROM customers ORDER BY 1")]
            arrivals = [
                running[number % 2].services.referrals.start(
                    f"arrive:{number}",
                    ChatUser(5000 + number, f"Friend{number}", language_code="en"),
                    codes[number % REFERRERS],
                )
                for number in range(FRIENDS)
            ]
            routers = [instance.router.sweep() for instance in running]
            await asyncio.gather(*arrivals, *routers)  # routing starts while referrals still arrive
            await route_until_settled(running, schema)

            offers = schema.rows("SELECT referral_id, rep, turn FROM route_offers ORDER BY turn")
            assert len(offers) == FRIENDS == schema.rows("SELECT COUNT(*) AS n FROM referrals")[0]["n"]
            assert len({offer["referral_id"] for offer in offers}) == FRIENDS  # each referral offered once
            assert [offer["turn"] for offer in offers] == list(range(FRIENDS))  # no turn skipped or repeated
            assert [offer["rep"] for offer in offers] == [REPS[turn % len(REPS)] for turn in range(FRIENDS)]
            dms = schema.rows("SELECT COUNT(*) AS n FROM outbox WHERE dedupe_key LIKE 'offer:%'")[0]["n"]
            assert dms == FRIENDS  # one DM card per offer

            clock.advance(timedelta(minutes=5))  # nobody accepted: every offer is handed on, once
            await route_until_settled(running, schema)
            again = schema.rows("SELECT referral_id, rep, status, turn FROM route_offers ORDER BY turn")
            assert Counter(offer["status"] for offer in again) == {"handed_on": FRIENDS, "pending": FRIENDS}
            assert [offer["turn"] for offer in again] == list(range(2 * FRIENDS))
            for referral_id in {offer["referral_id"] for offer in again}:
                reps = [offer["rep"] for offer in again if offer["referral_id"] == referral_id]
                assert len(reps) == 2 and reps[0] != reps[1]  # handed on to someone else, and only once
            handed = schema.rows("SELECT COUNT(*) AS n FROM outbox WHERE payload LIKE '%did not accept%'")
            assert handed[0]["n"] == FRIENDS  # the channel saw each hand-on once
