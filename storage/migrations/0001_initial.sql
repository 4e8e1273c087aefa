-- Customers, referrals, rewards, shares, the inbox of processed updates, the outbox and the audit trail.
-- Portable SQL: it runs unchanged on SQLite and PostgreSQL. Timestamps are UTC ISO-8601 text.

CREATE TABLE customers (
    telegram_id BIGINT PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT,
    username TEXT,
    language TEXT NOT NULL,
    segment TEXT NOT NULL,
    referral_code TEXT NOT NULL UNIQUE,
    variant TEXT NOT NULL,
    referred_by BIGINT,
    phone TEXT,
    contact_consent_at TEXT,
    asks_opted_out INTEGER NOT NULL DEFAULT 0,
    opted_out_at TEXT,
    unreachable_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    referrer_id BIGINT NOT NULL REFERENCES customers (telegram_id),
    friend_telegram_id BIGINT,
    friend_name TEXT,
    friend_contact TEXT,
    friend_contact_kind TEXT,
    friend_note TEXT,
    friend_consent_at TEXT,
    source TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    flagged INTEGER NOT NULL DEFAULT 0,
    flag_reason TEXT,
    assignee TEXT,
    variant TEXT,
    deal_value TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    claimed_at TEXT,
    contacted_at TEXT,
    converted_at TEXT,
    lost_at TEXT,
    rejected_at TEXT
);

-- A Telegram user can be referred once: the database itself refuses a second referral row.
CREATE UNIQUE INDEX referrals_one_per_friend ON referrals (friend_telegram_id) WHERE friend_telegram_id IS NOT NULL;
CREATE INDEX referrals_by_referrer ON referrals (referrer_id, created_at);
CREATE INDEX referrals_by_status ON referrals (status, created_at);
CREATE INDEX referrals_by_contact ON referrals (friend_contact);

CREATE TABLE rewards (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    customer_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX rewards_one_per_role ON rewards (referral_id, role);
CREATE INDEX rewards_by_customer ON rewards (customer_id);

CREATE TABLE share_events (
    id TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    channel TEXT NOT NULL,
    detail TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX share_events_by_time ON share_events (created_at);

CREATE TABLE drafts (
    telegram_id BIGINT PRIMARY KEY,
    step TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE processed_inbound (
    id TEXT PRIMARY KEY,
    processed_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    platform_message_id TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_chat ON outbox (platform, chat_id, status);

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_by_subject ON events (subject, created_at);
