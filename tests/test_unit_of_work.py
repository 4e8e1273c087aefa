"""`Units.once`, the unit of work every inbound event goes through, on each backend: the work commits on a normal
exit, rolls back on an exception, happens once per inbound id, and wakes the dispatcher only after it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.clock import FakeClock
from bot.core.unit_of_work import Units
from bot.customers.services import CustomerServices
from bot.program.rules import Program
from messages import Renderer
from storage import open_store

from conftest import BOT_USERNAME, Operator

BACKENDS = ("sqlite", "postgresql")


class Wakes:
    """Counts the dispatcher's wake-ups, and how many outbox rows were committed at each one."""

    def __init__(self, operator: Operator) -> None:
        self.operator = operator
        self.seen: list[int] = []

    def __call__(self) -> None:
        self.seen.append(self.operator.count("outbox"))


@pytest.fixture
async def units(program: Program, clock: FakeClock, operator: Operator) -> AsyncIterator[tuple[Units, Wakes]]:
    store = await open_store(operator.url)
    await store.migrate()
    wakes = Wakes(operator)
    try:
        yield CustomerServices.build(store, program, Renderer(), BOT_USERNAME, clock, wakes).units, wakes
    finally:
        await store.close()


async def test_the_work_commits_and_then_wakes_the_dispatcher(units: tuple[Units, Wakes], operator: Operator) -> None:
    unit, wakes = units
    async with unit.once("in:1") as w:
        assert w is not None and w.inbound_id == "in:1"
        await w.post("telegram", "7", {"text": "one"})
        await w.post("telegram", "7", {"text": "two"})
    assert wakes.seen == [2]  # woken once, with both rows already visible
    keys = [row["dedupe_key"] for row in operator.rows("SELECT dedupe_key FROM outbox ORDER BY dedupe_key")]
    assert keys == ["in:1/1", "in:1/2"]


async def test_a_replay_gets_nothing_and_changes_nothing(units: tuple[Units, Wakes], operator: Operator) -> None:
    unit, wakes = units
    async with unit.once("in:1") as w:
        assert w is not None
        await w.post("telegram", "7", {"text": "one"})
    async with unit.once("in:1") as again:
        assert again is None
    assert wakes.seen == [1]
    assert operator.count("outbox") == 1


async def test_an_exception_rolls_back_and_leaves_the_event_to_a_retry(
    units: tuple[Units, Wakes], operator: Operator
) -> None:
    unit, wakes = units
    with pytest.raises(RuntimeError, match="boom"):
        async with unit.once("in:1") as w:
            assert w is not None
            await w.post("telegram", "7", {"text": "lost"})
            raise RuntimeError("boom")
    assert wakes.seen == []
    assert operator.count("outbox") == 0
    async with unit.once("in:1") as retry:  # the inbound id was not claimed either
        assert retry is not None
    assert wakes.seen == [0]


async def test_returning_from_inside_commits(units: tuple[Units, Wakes], operator: Operator) -> None:
    unit, wakes = units

    async def handle() -> str:
        async with unit.once("in:1") as w:
            if w is None:
                return "replay"
            await w.post("telegram", "7", {"text": "early"})
            return "applied"

    assert [await handle(), await handle()] == ["applied", "replay"]
    assert wakes.seen == [1]
    assert operator.count("outbox") == 1
