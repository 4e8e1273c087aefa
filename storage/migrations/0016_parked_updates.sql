-- Telegram updates whose handling failed, kept so the poller can confirm the updates behind them (other people's
-- updates must not wait for one that fails) and retry this one with backoff. A person's later updates are parked
-- behind their first, so their own order holds. Rows live for seconds: they go when handled or given up.
CREATE TABLE parked_updates (
    update_id BIGINT PRIMARY KEY,
    sender BIGINT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    parked_at TEXT NOT NULL
);
