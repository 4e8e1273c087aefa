-- What each CRM Idempotency-Key was first used with: a hash of the request's method, path and canonical body,
-- recorded before the request acts (its effect is then recorded in processed_inbound under the same id), so a
-- key sent again with other parameters is refused with 422 instead of answered with another request's result.
-- Keys used before this table existed have no row: their next use records what it carries.
CREATE TABLE request_keys (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    first_used_at TEXT NOT NULL
);
