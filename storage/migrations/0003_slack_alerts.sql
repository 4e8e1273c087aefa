-- Where each referral's alert lives in Slack, so updates and thread replies find it, and whether it
-- is still only a line in a digest (then its own card is posted the first time it changes).

-- Looking up one person's recent events (how many unknown codes they tried) stays fast.
CREATE INDEX events_by_actor ON events (actor, kind, created_at);

CREATE TABLE slack_alerts (
    referral_id TEXT PRIMARY KEY REFERENCES referrals (id),
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    digest INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
