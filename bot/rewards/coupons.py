"""Coupon code pools: handing out a code inside the reward's own transaction, warning the team when a pool runs
low or out, and reading the code files an operator imports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.models import Reward
from bot.core.unit_of_work import Units, Work
from bot.program.sections import Incentives
from storage.base import Store

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,63}$")
POOL = re.compile(r"^[\w-]{1,50}$")
IMPORT_BATCH = 500


async def take_code(w: Work, units: Units, reward: Reward) -> str | None:
    """The pool's next code for this reward, or None (the reward is then owed) when the pool is empty."""
    assert reward.pool is not None  # a coupon rule always names its pool
    code = await w.tx.take_coupon(reward.pool, reward.id, w.now)
    if code is None:
        await w.tx.log_event("coupon.pool_empty", w.now, subject=reward.id, pool=reward.pool)
        if not await w.tx.owed_rewards(reward.pool):  # warn once, when the first reward starts to wait
            await _warn(w, units, "reward_pool_empty", pool=reward.pool)
        return None
    left = await w.tx.coupons_left(reward.pool)
    # Codes leave one at a time under the write lock, so "exactly at the threshold" happens once per crossing.
    if left == units.program.incentives.low_pool_warning:
        await w.tx.log_event("coupon.pool_low", w.now, subject=reward.pool, left=left)
        await _warn(w, units, "reward_pool_low", pool=reward.pool, left=left)
    return code


async def _warn(w: Work, units: Units, template: str, **context: Any) -> None:
    if units.alerts is None:
        return
    text = units.screens.team(template, **context)
    await w.post("slack", units.alerts.team.alert_channel, {"kind": "reward_notice", "text": text})


@dataclass(frozen=True)
class CodeLine:
    number: int  # the line in the file, as the operator's editor shows it
    code: str | None
    problem: str | None = None


def read_codes(text: str) -> Iterator[CodeLine]:
    """Codes one per line, or in the `code` column of a CSV with a header; every bad line says why."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    column = header.index("code") if "code" in header else None
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if number == 1 and column is not None:
            continue
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue  # blank lines are not mistakes
        value = cells[column] if column is not None and column < len(cells) else ",".join(cells)
        if not CODE.match(value):
            shown = value[:40] + ("…" if len(value) > 40 else "")
            problem = f"{shown!r} is not a code (3 to 64 letters, digits, '-', '_' or '.')"
            yield CodeLine(number, None, problem)
        elif value in seen:
            yield CodeLine(number, None, f"{value!r} repeats line {seen[value]}")
        else:
            seen[value] = number
            yield CodeLine(number, value)


@dataclass(frozen=True)
class Imported:
    added: int
    already: list[CodeLine]  # good codes the pool had before


async def import_codes(
    store: Store, pool: str, lines: Sequence[CodeLine], at: datetime, advance: Callable[[int], None]
) -> Imported:
    """Add the good codes in batches, each batch one commit, so a long file shows progress and the writer is
    never held for long; a code the pool already has is reported, not added twice."""
    added, already = 0, []
    for start in range(0, len(lines), IMPORT_BATCH):
        batch = lines[start : start + IMPORT_BATCH]
        async with store.transaction() as tx:
            for line in batch:
                assert line.code is not None  # only good lines are imported
                if await tx.add_coupon(pool, line.code, at):
                    added += 1
                else:
                    already.append(line)
        advance(len(batch))
    return Imported(added, already)


def pools_of(incentives: Incentives) -> set[str]:
    """Every pool a coupon reward of the program draws from."""
    rules = [incentives.friend, incentives.referrer, *(tier.bonus for tier in incentives.tiers)]
    rules += [rule for sides in incentives.segments.values() for rule in (sides.friend, sides.referrer) if rule]
    rules += [tier.bonus for sides in incentives.segments.values() for tier in sides.tiers or ()]
    return {rule.pool for rule in rules if rule.kind == "coupon" and rule.pool}
