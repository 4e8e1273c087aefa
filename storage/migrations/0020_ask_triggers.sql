-- Asks waiting for their moment ([[asks.triggers]] in program.toml): one row per trigger and event (a referral of
-- the customer's converted, the CRM reported a purchase of theirs, a schedule came round), due at due_at (UTC).
-- The id is derived from the trigger and the event, so an event seen twice schedules one ask. outcome and
-- settled_at are set once (UPDATE ... WHERE settled_at IS NULL), in the transaction that asks or leaves the customer
-- out: the claim that keeps two instances from both asking. outcome: asked, or why not (cooldown, detractor, ...).

CREATE TABLE ask_triggers (
    id TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    trigger TEXT NOT NULL,
    due_at TEXT NOT NULL,
    outcome TEXT,
    settled_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ask_triggers_due ON ask_triggers (due_at) WHERE settled_at IS NULL;
CREATE INDEX ask_triggers_by_customer ON ask_triggers (customer_id);
