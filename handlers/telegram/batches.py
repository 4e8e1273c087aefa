"""A batch from getUpdates, processed in lines: one line per sender, in order, several lines at once.

A person's own updates must take effect in the order they were sent (tapping a button before the message that
showed it makes no sense), so each sender's updates run one after another. Different people's updates run side by
side, up to `at_once`, which lets a store that shares commits (SQLite's group commit) carry many of them with one
fsync. With `at_once=1` the batch runs strictly in order, one update after another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from telegram import Update


def sender_of(update: Update) -> int:
    """Whose update it is: the person, else the chat; an update with neither is a line of its own."""
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return -update.update_id


def lines_of(updates: Sequence[Update]) -> list[list[Update]]:
    lines: dict[int, list[Update]] = {}
    for update in updates:
        lines.setdefault(sender_of(update), []).append(update)
    return list(lines.values())


async def process_batch(
    updates: Sequence[Update], process: Callable[[Update], Awaitable[bool]], at_once: int
) -> int | None:
    """Process the batch; return the last update id up to which every update is stored (None: not the first).

    A line stops at its first update that failed, so a person's later updates wait for it; everything after that
    update in the batch is fetched again, and updates already stored are then recognised and ignored."""
    if at_once <= 1:
        return await _in_order(updates, process)
    stored: set[int] = set()
    room = asyncio.Semaphore(at_once)

    async def run(line: list[Update]) -> None:
        async with room:
            for update in line:
                if not await process(update):
                    return
                stored.add(update.update_id)

    await asyncio.gather(*(run(line) for line in lines_of(updates)))
    done = None
    for update in updates:
        if update.update_id not in stored:
            break
        done = update.update_id
    return done


async def _in_order(updates: Sequence[Update], process: Callable[[Update], Awaitable[bool]]) -> int | None:
    done = None
    for update in updates:
        if not await process(update):
            break
        done = update.update_id
        # An update's work rarely waits on anything, so without this a batch of a hundred would hold the
        # loop: sends that already reached a platform would wait that long to be recorded.
        await asyncio.sleep(0)
    return done
