-- Routing (program.toml [routing]): each routed referral's place, the offers made to reps, and one rotation cursor
-- per pool. Portable SQL; moments as ISO text in UTC, so they compare as text.
-- routes.step counts the moves of a referral's routing: an instance applies a move only at the step it read, so two
-- instances never both offer the same referral. route_cursors.turns counts the offers made in the pool's rotation
-- and last_rep is who had the latest: the row is locked while the next is picked, so no rep is skipped.
CREATE TABLE routes (
    referral_id TEXT PRIMARY KEY,
    pool TEXT NOT NULL,
    state TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    due_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX routes_due ON routes (state, due_at);

CREATE TABLE route_offers (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL,
    rep TEXT NOT NULL,
    pool TEXT NOT NULL,
    offered_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    turn INTEGER,
    settled_at TEXT,
    settled_by TEXT,
    next_rep TEXT,
    locale TEXT
);
CREATE INDEX route_offers_referral ON route_offers (referral_id, status);
CREATE INDEX route_offers_offered ON route_offers (offered_at, rep);
-- The offers pending for one rep: handed on at once when they say they are away.
CREATE INDEX route_offers_rep ON route_offers (rep, status);

CREATE TABLE route_cursors (
    pool TEXT PRIMARY KEY,
    last_rep TEXT,
    turns INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
