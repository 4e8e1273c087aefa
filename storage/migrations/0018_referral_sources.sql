-- Where referrals come from and what they are worth (`/referrals stats sources` and `money`, storage/source_sql.py).
-- prompted_by: the ask that prompted the referrer (the ask log's reason: campaign:<id>, promoter, ...), when they were
-- asked within the attribution window before the referral; NULL when nobody asked them (and for older referrals).
ALTER TABLE referrals ADD COLUMN prompted_by TEXT;
-- cost: what the reward costs the business, in the program's currency, as the program file valued it when granted;
-- NULL when the program file gives it no value.
ALTER TABLE rewards ADD COLUMN cost TEXT;

-- Counted per arrival day (UTC), share channel and prompting ask as referrals arrive, convert and have their rewards
-- issued, and as asks are sent (under channel ''), in the same transaction as each change. Money is in cents.
-- Sharded like referral_tallies (migration 0010), so concurrent arrivals do not queue on one row lock.
CREATE TABLE source_tallies (
    day TEXT NOT NULL,
    channel TEXT NOT NULL,
    prompted_by TEXT NOT NULL,
    shard INTEGER NOT NULL DEFAULT 0,
    asked BIGINT NOT NULL DEFAULT 0,
    arrived BIGINT NOT NULL DEFAULT 0,
    converted BIGINT NOT NULL DEFAULT 0,
    revenue_cents BIGINT NOT NULL DEFAULT 0,
    reward_cents BIGINT NOT NULL DEFAULT 0,
    unpriced_rewards BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel, prompted_by, shard)
);
-- The period's first, partial day is counted from the asks themselves, a day's worth read from this index.
CREATE INDEX asks_by_time ON asks (created_at);
-- A referral's rewards, found by its id: the unique index on (referral_id, role) leaves tier bonuses out, so it
-- cannot serve a lookup by referral alone.
CREATE INDEX rewards_by_referral ON rewards (referral_id);
-- Counted from the rows (also by `referral-bot recount`): referrals, their issued rewards, and asks (follow-ups aside).
INSERT INTO source_tallies (day, channel, prompted_by, asked, arrived, converted, revenue_cents, reward_cents,
    unpriced_rewards)
SELECT day, channel, prompted_by, SUM(asked), SUM(arrived), SUM(converted), SUM(revenue_cents), SUM(reward_cents),
    SUM(unpriced_rewards)
FROM (
    SELECT substr(r.created_at, 1, 10) AS day, r.channel, COALESCE(r.prompted_by, '') AS prompted_by, 0 AS asked,
        1 AS arrived, CASE WHEN r.converted_at IS NULL THEN 0 ELSE 1 END AS converted,
        CASE WHEN r.converted_at IS NULL OR r.deal_value IS NULL THEN 0
            ELSE CAST(ROUND(CAST(r.deal_value AS NUMERIC) * 100) AS BIGINT) END AS revenue_cents,
        0 AS reward_cents, 0 AS unpriced_rewards
    FROM referrals r
    UNION ALL
    SELECT substr(r.created_at, 1, 10), r.channel, COALESCE(r.prompted_by, ''), 0, 0, 0, 0,
        CASE WHEN w.cost IS NULL THEN 0 ELSE CAST(ROUND(CAST(w.cost AS NUMERIC) * 100) AS BIGINT) END,
        CASE WHEN w.cost IS NULL THEN 1 ELSE 0 END
    FROM rewards w JOIN referrals r ON r.id = w.referral_id WHERE w.status = 'issued'
    UNION ALL
    SELECT substr(a.created_at, 1, 10), '', a.reason, 1, 0, 0, 0, 0, 0 FROM asks a WHERE a.kind = 'ask'
) AS counted
GROUP BY day, channel, prompted_by;
