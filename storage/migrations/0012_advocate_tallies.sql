-- `/referrals top` and the Home tab's advocates: each referrer's referrals (all but rejected ones) and conversions,
-- kept in the same transaction as each arrival, status change and reattribution (storage/tally_sql.py), so the
-- leaderboard reads its first rows from an index instead of counting every referral.
CREATE TABLE advocate_tallies (
    referrer_id BIGINT PRIMARY KEY,
    referrals BIGINT NOT NULL DEFAULT 0,
    converted BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX advocate_tallies_by_rank ON advocate_tallies (converted, referrals);
INSERT INTO advocate_tallies (referrer_id, referrals, converted)
SELECT referrer_id, SUM(CASE WHEN status <> 'rejected' THEN 1 ELSE 0 END),
    SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END)
FROM referrals GROUP BY referrer_id;
