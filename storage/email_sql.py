"""E-mails whose SMTP exchange began (migration 0022): the sender's guard against mailing anyone twice.
Mixed into the SQL stores."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime

from storage.rows import to_db
from storage.sql_base import Executor


class EmailSql:
    def _write(self, urgent: bool = False) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    async def begin_email(self, outbox_id: str, at: datetime) -> bool:
        # Urgent: the sender holds an SMTP transaction open, waiting for this commit before it sends the message.
        async with self._write(urgent=True) as db:
            inserted = await db.execute(
                "INSERT INTO email_attempts (outbox_id, started_at) VALUES (?, ?) ON CONFLICT (outbox_id) DO NOTHING",
                (outbox_id, to_db(at)),
            )
        return inserted == 1

    async def end_email_attempt(self, outbox_id: str) -> None:
        async with self._write() as db:
            await db.execute("DELETE FROM email_attempts WHERE outbox_id = ?", (outbox_id,))
