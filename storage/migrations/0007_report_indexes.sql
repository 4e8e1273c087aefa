-- Indexes for the managers' reports over a large history (a million referrals):
-- `top` counts each advocate's referrals and conversions from a covering index, not the table;
-- the A/B figures count customers per variant from an index.
CREATE INDEX referrals_by_referrer_status ON referrals (referrer_id, status);
CREATE INDEX customers_by_variant ON customers (variant);
