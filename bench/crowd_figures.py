"""The figures of the crowd benchmark (bench_crowd.py), read from what the emulators received and the outbox left.

Every figure comes from the emulators' own call logs, stamped with time.monotonic() as each request arrived: what
a person would have seen, and when."""

from __future__ import annotations

import bisect
import itertools
import re
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import percentile
from sandbox.slack_api import SlackEmulator
from sandbox.telegram_api import RecordedRequest, TelegramEmulator
from sandbox.telegram_limits import MESSAGE_METHODS

FRIEND = re.compile(r"F\d{6}x")  # each friend's unique first name: a text names exactly the friends it shows
OTHERS = re.compile(r"(\d[\d,]*)\s+others?\b")  # "… and 9 others"
FRIENDS = re.compile(r"(\d[\d,]*)\s+(?:\w+\s+)?friends?\b")  # "12 more friends joined"


def friend_name(n: int) -> str:
    return f"F{n:06d}x"


def sent(telegram: TelegramEmulator) -> list[RecordedRequest]:
    """Messages the bot put in a chat (sendMessage, sendPhoto, edits…), in the order they arrived."""
    return sorted(
        (r for r in telegram.requests if r.method.lower() in MESSAGE_METHODS and r.status == 200), key=lambda r: r.at
    )


def _chat(request: RecordedRequest) -> int | None:
    chat = request.params.get("chat_id")
    return int(chat) if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit() else None


def _seconds(samples: Sequence[float]) -> dict[str, Any]:
    return {
        "count": len(samples),
        "p50": round(percentile(list(samples), 50), 3),
        "p90": round(percentile(list(samples), 90), 3),
        "p99": round(percentile(list(samples), 99), 3),
        "max": round(max(samples), 3) if samples else None,
    }


def welcomes(telegram: TelegramEmulator, arrived: dict[int, float], ended: float) -> dict[str, Any]:
    """From each friend's /start to the first message in their chat. A friend still waiting when the run ended
    counts with the wait so far, and the figures are then lower bounds."""
    first: dict[int, float] = {}
    for request in sent(telegram):
        chat = _chat(request)
        if chat in arrived and chat not in first:
            first[chat] = request.at
    waits = [first.get(friend, ended) - at for friend, at in arrived.items()]
    return {"friends": len(arrived), "welcomed": len(first), "lower_bound": len(first) < len(arrived)} | {
        "latency_s": _seconds(waits)
    }


def intake(telegram: TelegramEmulator, arrived: dict[int, float], updates: dict[int, int]) -> dict[str, Any]:
    """From each friend's /start to the engine confirming their update (the first getUpdates whose offset is past
    it: the engine asks for more only once a batch is stored). The rest of a welcome's wait is the outbox's."""
    polls = sorted((r.at, int(r.params.get("offset") or 0)) for r in telegram.requests if r.method == "getUpdates")
    reached = list(itertools.accumulate((offset for _, offset in polls), max))  # the offset confirmed by each poll
    confirmed: dict[int, float] = {}
    for friend, update_id in updates.items():
        index = bisect.bisect_right(reached, update_id)  # the first poll past this update
        if index < len(polls):
            confirmed[friend] = polls[index][0] - arrived[friend]
    return {"confirmed": len(confirmed), "latency_s": _seconds(list(confirmed.values()))}


def _text(request: RecordedRequest) -> str:
    return str(request.params.get("text") or request.params.get("caption") or "")


def _number(digits: str) -> int:
    return int(digits.replace(",", ""))


def accounted(text: str) -> tuple[set[str], int]:
    """The friends a text names, and how many it shows in all: named ones plus "N others", or "N friends"."""
    named = set(FRIEND.findall(text))
    others = sum(_number(n) for n in OTHERS.findall(text))
    counted = max((_number(n) for n in FRIENDS.findall(text)), default=0)
    return named, max(len(named) + others, counted)


def most_within(times: Sequence[float], window: float) -> int:
    """The most events inside any window of `window` seconds."""
    ordered, most, first = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def campaign(telegram: TelegramEmulator, chats: range, burst_started: float) -> dict[str, Any]:
    """When the campaign's asks went out, against the first friend's arrival: whether the burst met the campaign."""
    times = [r.at for r in sent(telegram) if _chat(r) in chats]
    return {
        "asks_sent": len(times),
        "first_ask_before_first_arrival_s": round(burst_started - times[0], 1) if times else None,
        "last_ask_after_first_arrival_s": round(times[-1] - burst_started, 1) if times else None,
    }


def referrer(telegram: TelegramEmulator, referrer_id: int, burst_started: float) -> dict[str, Any]:
    """The referrer's chat: how many messages, how many a minute, and whether every friend was named or counted."""
    messages = [r for r in sent(telegram) if _chat(r) == referrer_id and r.at >= burst_started]
    named: set[str] = set()
    shown = 0
    for request in messages:
        names, count = accounted(_text(request))
        named |= names
        shown += count
    minutes = [0] * (int((messages[-1].at - burst_started) // 60) + 1 if messages else 0)
    for request in messages:
        minutes[int((request.at - burst_started) // 60)] += 1
    return {
        "messages": len(messages),
        "most_in_any_minute": most_within([r.at for r in messages], 60.0),
        "per_minute_from_first_arrival": minutes,
        "friends_named": len(named),
        "friends_named_or_counted": shown,
        "last_after_s": round(messages[-1].at - burst_started, 1) if messages else None,
    }


def slack(slack_emulator: SlackEmulator, channel: str, database: Path) -> dict[str, Any]:
    """Posts to the alert channel: how many, how fast at most, and how many alerts the digests held."""
    posts = [c for c in slack_emulator.calls if c.method == "chat.postMessage" and c.params.get("channel") == channel]
    ok = sorted(c.at for c in posts if c.ok)
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT digest, COUNT(DISTINCT ts), COUNT(*) FROM slack_alerts GROUP BY digest").fetchall()
    shown = {bool(digest): (messages, alerts) for digest, messages, alerts in rows}
    span = ok[-1] - ok[0] if len(ok) > 1 else 0.0
    return {
        "posts": len(ok),
        "in_threads": sum(1 for c in posts if c.ok and c.params.get("thread_ts")),
        "most_in_any_second": most_within(ok, 1.0),
        "most_in_any_10_seconds": most_within(ok, 10.0),
        "per_second_overall": round((len(ok) - 1) / span, 3) if span else None,
        "digests": shown.get(True, (0, 0))[0],
        "alerts_in_digests": shown.get(True, (0, 0))[1],
        "alerts_posted_singly": shown.get(False, (0, 0))[1],
        "answered_429": sum(1 for c in slack_emulator.calls if c.status == 429),
    }


def left_by_chat(database: Path) -> dict[str, int]:
    """Telegram outbox rows not yet settled (sent or dead), by chat."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT chat_id, COUNT(*) FROM outbox WHERE platform = 'telegram' AND status NOT IN ('sent', 'dead')"
            " GROUP BY chat_id"
        ).fetchall()
    return {str(chat): int(count) for chat, count in rows}


def dead(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'dead'").fetchone()[0])


def finish(telegram: TelegramEmulator, database: Path, rate: float, chat_rate: float, ended: float) -> dict[str, Any]:
    """Time from the first message to the last ÷ the floor (every message at the overall rate). When the run was
    cut off, the rest is estimated: the busiest chat's rows at its own rate, or all rows at the overall rate."""
    times = [r.at for r in sent(telegram)]
    left = left_by_chat(database)
    total = len(times) + sum(left.values())
    floor = total / rate
    took = (times[-1] if not left else ended) - times[0] if times else 0.0
    if left:
        took += max(max(left.values()) / chat_rate, sum(left.values()) / rate)
    return {
        "telegram_messages": len(times),
        "rows_left_at_end": sum(left.values()),
        "chats_left_at_end": len(left),
        "finished": not left,
        "seconds": round(took, 1),
        "estimated": bool(left),
        "floor_seconds": round(floor, 1),
        "ratio": round(took / floor, 3) if floor else None,
        "answered_429": sum(1 for r in telegram.requests if r.status == 429),
        "answered_429_by_chat": dict(Counter(str(_chat(r)) for r in telegram.requests if r.status == 429)),
        "dead_rows": dead(database),
    }
