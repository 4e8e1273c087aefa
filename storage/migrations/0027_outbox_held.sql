-- A notification held for its chat's window (bot/core/notifications.py, storage/windows_sql.py): pending, and due
-- only at the window's slot. Unlike a row waiting for a retry, it does not hold up its chat's later rows (a reply to
-- the person overtakes a thank-you that is deliberately held), but held rows keep their order among themselves
-- (storage/outbox_sql.py). Cleared when the row is claimed: from then on it is an ordinary row, and a retry of it
-- keeps its chat's order like any other.
ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
