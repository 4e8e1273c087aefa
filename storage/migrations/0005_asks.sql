-- The ask log: every referral request and follow-up reminder sent to a customer, for cooldowns and caps.
-- An ask's id is derived from the event that caused it, so a replayed event never asks twice; a follow-up's id
-- is derived from its ask, so an ask never gets a second reminder.
-- closed_at: the ask needs no reminder any more (sent one, or the customer shared or opted out).

CREATE TABLE asks (
    id TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    variant TEXT,
    follows TEXT,
    closed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX asks_by_customer ON asks (customer_id, created_at);
CREATE INDEX asks_open ON asks (kind, closed_at, created_at);
CREATE INDEX share_events_by_customer ON share_events (customer_id, created_at);
