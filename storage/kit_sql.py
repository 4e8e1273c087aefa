"""The referral kit's uploaded files (migration 0019): Telegram's file_id per file, by kind and content digest.
Mixed into the SQL stores."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime

from storage.rows import to_db
from storage.sql_base import Executor


class KitSql:
    def _write(self, urgent: bool = False) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    def _lookup(self) -> AbstractAsyncContextManager[Executor]:
        raise NotImplementedError

    async def kit_files(self) -> dict[tuple[str, str], str]:
        async with self._lookup() as db:
            rows = await db.fetch_all("SELECT kind, digest, file_id FROM kit_files")
        return {(str(row["kind"]), str(row["digest"])): str(row["file_id"]) for row in rows}

    async def remember_kit_file(self, kind: str, digest: str, file_id: str, at: datetime) -> None:
        # Two customers' /kit may upload the same new file at once: the later id replaces the earlier, both work.
        async with self._write() as db:
            await db.execute(
                "INSERT INTO kit_files (kind, digest, file_id, uploaded_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, digest) DO UPDATE SET file_id = excluded.file_id,"
                " uploaded_at = excluded.uploaded_at",
                (kind, digest, file_id, to_db(at)),
            )
