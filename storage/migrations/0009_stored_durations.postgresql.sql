-- How long each referral waited to be claimed and to be contacted, counted from its arrival, kept as the team
-- acts (storage/tally_sql.py), so that a report's median is one indexed lookup rather than a read of every time.
ALTER TABLE referrals ADD COLUMN claim_seconds DOUBLE PRECISION;
ALTER TABLE referrals ADD COLUMN contact_seconds DOUBLE PRECISION;
UPDATE referrals SET
    claim_seconds = EXTRACT(EPOCH FROM (claimed_at::timestamptz - created_at::timestamptz)),
    contact_seconds = EXTRACT(EPOCH FROM (contacted_at::timestamptz - created_at::timestamptz))
WHERE claimed_at IS NOT NULL OR contacted_at IS NOT NULL;
