-- Rewards: what kind each is and how it was fulfilled, tier bonuses, the manager's review of held rewards,
-- and the coupon code pools. Portable SQL: it runs unchanged on SQLite and PostgreSQL.

ALTER TABLE rewards ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE rewards ADD COLUMN earned_on TEXT NOT NULL DEFAULT 'conversion';
ALTER TABLE rewards ADD COLUMN amount TEXT;
ALTER TABLE rewards ADD COLUMN currency TEXT;
ALTER TABLE rewards ADD COLUMN pool TEXT;
ALTER TABLE rewards ADD COLUMN code TEXT;
ALTER TABLE rewards ADD COLUMN tier INTEGER;
ALTER TABLE rewards ADD COLUMN issued_at TEXT;
ALTER TABLE rewards ADD COLUMN fulfilled_at TEXT;
ALTER TABLE rewards ADD COLUMN fulfilled_by TEXT;

-- One reward per side of a referral, plus tier bonuses: those are granted once per customer and tier.
DROP INDEX rewards_one_per_role;
CREATE UNIQUE INDEX rewards_one_per_role ON rewards (referral_id, role) WHERE tier IS NULL;
CREATE UNIQUE INDEX rewards_tier_once ON rewards (customer_id, tier) WHERE tier IS NOT NULL;
CREATE INDEX rewards_owed ON rewards (pool, status);

-- A flagged referral's held rewards wait for a manager: approved or rejected, by whom and when.
ALTER TABLE referrals ADD COLUMN review TEXT;
ALTER TABLE referrals ADD COLUMN reviewed_by TEXT;
ALTER TABLE referrals ADD COLUMN reviewed_at TEXT;

-- The codes of each coupon pool. A code belongs to at most one reward, and a reward gets at most one code.
CREATE TABLE coupon_codes (
    pool TEXT NOT NULL,
    code TEXT NOT NULL,
    status TEXT NOT NULL,
    reward_id TEXT REFERENCES rewards (id),
    imported_at TEXT NOT NULL,
    issued_at TEXT,
    PRIMARY KEY (pool, code)
);
CREATE UNIQUE INDEX coupon_codes_one_per_reward ON coupon_codes (reward_id) WHERE reward_id IS NOT NULL;
CREATE INDEX coupon_codes_available ON coupon_codes (pool, status, imported_at);
