"""Keys the web pages sign with (migration 0022), made once and shared by every instance. Mixed into the SQL stores."""

from __future__ import annotations

import secrets
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from storage.rows import to_db
from storage.sql_base import Executor


class SiteSql:
    def _write(self, urgent: bool = False) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    async def site_key(self, name: str, at: datetime) -> str:
        # Two instances starting together may both insert: the first wins and both read its key.
        async with self._write() as db:
            await db.execute(
                "INSERT INTO site_keys (name, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_hex(32), to_db(at)),
            )
            rows = await db.fetch_all("SELECT secret FROM site_keys WHERE name = ?", (name,))
        return str(rows[0]["secret"])
