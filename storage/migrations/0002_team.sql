-- The team side: speed-to-lead timers, and why a referral was lost.

ALTER TABLE referrals ADD COLUMN lost_reason TEXT;

CREATE TABLE sla_timers (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    kind TEXT NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    lease_until TEXT,
    fired_at TEXT,
    created_at TEXT NOT NULL
);
-- One timer of each kind per referral: a replayed event cannot schedule a second nudge.
CREATE UNIQUE INDEX sla_timers_once ON sla_timers (referral_id, kind);
CREATE INDEX sla_timers_due ON sla_timers (status, due_at);
