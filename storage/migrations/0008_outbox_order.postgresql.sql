-- SQLite orders the outbox by its implicit rowid: a chat's messages go out in the order they were queued.
-- PostgreSQL has no rowid, so the same name becomes an explicit, ever-increasing column.
ALTER TABLE outbox ADD COLUMN rowid BIGSERIAL;
CREATE UNIQUE INDEX outbox_by_rowid ON outbox (rowid);
