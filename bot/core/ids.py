"""Row ids: made by the domain (a reward's, an inbound key's) and by the storage alike."""

from __future__ import annotations

import secrets
import threading
import time


class _RandomBytes:
    """The operating system's random bytes, read 4 KiB at a time: an arrival takes ten ids, and a system call
    for each cost more than building the rows they name. The lock keeps two threads from sharing bytes."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._pool = b""
        self._lock = threading.Lock()

    def take(self, count: int) -> bytes:
        with self._lock:
            if len(self._pool) < count:
                self._pool = secrets.token_bytes(self._size)
            taken, self._pool = self._pool[:count], self._pool[count:]
        return taken


_random = _RandomBytes()


def new_id() -> str:
    """The millisecond it was made, then 64 random bits: ids made together sort together, so each new row lands
    on the last pages of its table's id index instead of on a random page (a random key dirtied a page per row,
    and every commit wrote and synced them all)."""
    return f"{time.time_ns() // 1_000_000:012x}{_random.take(8).hex()}"
