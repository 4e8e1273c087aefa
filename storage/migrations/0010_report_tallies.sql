-- The managers' funnel and A/B figures, counted per arrival day (UTC) and variant as referrals arrive, move
-- and breach their SLA, and as customers share (storage/tally_sql.py). `/referrals stats` sums a few hundred
-- rows here and counts only the first, partial day of its period from the referrals themselves.
-- A referral with no variant is counted under ''. Each day and variant is split over a few shards, picked at random
-- per change and summed when read, so concurrent arrivals (webhooks, several instances) do not queue on one row lock.
CREATE TABLE referral_tallies (
    day TEXT NOT NULL,
    variant TEXT NOT NULL,
    arrived BIGINT NOT NULL DEFAULT 0,
    claimed BIGINT NOT NULL DEFAULT 0,
    contacted BIGINT NOT NULL DEFAULT 0,
    converted BIGINT NOT NULL DEFAULT 0,
    breached BIGINT NOT NULL DEFAULT 0,
    shard INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, variant, shard)
);
CREATE TABLE share_tallies (
    day TEXT NOT NULL,
    variant TEXT NOT NULL,
    shares BIGINT NOT NULL DEFAULT 0,
    shard INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, variant, shard)
);
-- A referral's own timers are found by its id; COALESCE keeps the planner off the status index, which would
-- read every fired timer for each referral.
INSERT INTO referral_tallies (day, variant, arrived, claimed, contacted, converted, breached)
SELECT substr(r.created_at, 1, 10), COALESCE(r.variant, ''), COUNT(*), COUNT(r.claimed_at), COUNT(r.contacted_at),
    COUNT(r.converted_at),
    SUM(CASE WHEN EXISTS (SELECT 1 FROM sla_timers t WHERE t.referral_id = r.id AND COALESCE(t.status, '') = 'fired') THEN 1 ELSE 0 END)
FROM referrals r GROUP BY substr(r.created_at, 1, 10), COALESCE(r.variant, '');
INSERT INTO share_tallies (day, variant, shares)
SELECT substr(s.created_at, 1, 10), COALESCE(c.variant, ''), COUNT(*)
FROM share_events s LEFT JOIN customers c ON c.telegram_id = s.customer_id
GROUP BY substr(s.created_at, 1, 10), COALESCE(c.variant, '');
-- the partial first day of a period, and the medians: each read from an index in order
CREATE INDEX referrals_by_arrival ON referrals (created_at);
CREATE INDEX referrals_by_claim_seconds ON referrals (claim_seconds, created_at) WHERE claim_seconds IS NOT NULL;
CREATE INDEX referrals_by_contact_seconds ON referrals (contact_seconds, created_at) WHERE contact_seconds IS NOT NULL;
