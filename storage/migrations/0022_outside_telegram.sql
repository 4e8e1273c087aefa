-- People outside Telegram: advocates imported with only an e-mail address, friends who leave their details on the
-- landing page, and e-mail as a platform the outbox sends through. Portable SQL.

-- An advocate imported without a Telegram account has an id below zero (Telegram user ids are positive) until they
-- open their personal link and their record moves to their Telegram id.
ALTER TABLE customers ADD COLUMN email TEXT;
CREATE UNIQUE INDEX customers_by_email ON customers (email) WHERE email IS NOT NULL;
-- The customer chose that their landing page does not show their first name.
ALTER TABLE customers ADD COLUMN name_hidden INTEGER NOT NULL DEFAULT 0;

-- A friend from the landing page may leave an e-mail address and a phone number: the address is friend_contact,
-- the number is kept here, and both are compared for one referrer per friend. The consent text they ticked is kept
-- word for word, with its time in friend_consent_at.
ALTER TABLE referrals ADD COLUMN friend_phone TEXT;
ALTER TABLE referrals ADD COLUMN friend_consent_text TEXT;
-- The language the friend read the page in: what the welcome e-mail and the team's e-mails to them are written in.
ALTER TABLE referrals ADD COLUMN friend_language TEXT;
CREATE INDEX referrals_by_friend_phone ON referrals (friend_phone) WHERE friend_phone IS NOT NULL;

-- Personal links e-mailed to imported advocates (t.me/<bot>?start=adv_<token>): single use, expiring. Only the
-- token's SHA-256 is kept, so a copy of the database cannot bind anyone's Telegram account.
CREATE TABLE advocate_invites (
    token_hash TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by BIGINT
);
CREATE INDEX advocate_invites_by_customer ON advocate_invites (customer_id);

-- Every address we write to has an unsubscribe token of its own; unsubscribed addresses get nothing more.
CREATE TABLE email_addresses (
    address TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    unsubscribed_at TEXT
);

-- An e-mail whose SMTP exchange began. SMTP cannot say whether a message was accepted once the connection is lost,
-- so a row found here after a crash is not sent again: nobody gets a mail twice.
CREATE TABLE email_attempts (
    outbox_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL
);

-- Keys the web pages sign with (the landing form's CSRF tokens), made once and shared by every instance.
CREATE TABLE site_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
