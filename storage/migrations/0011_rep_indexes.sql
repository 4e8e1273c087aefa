-- `/referrals reps` over a large history: each rep's counts come from one index holding everything they need, and
-- each median walks that rep's durations in order to the middle one. All three leave out the referrals nobody has
-- claimed, so an arrival writes none of them.
CREATE INDEX referrals_by_rep ON referrals (assignee, created_at, status, claim_seconds, contact_seconds)
    WHERE assignee IS NOT NULL;
CREATE INDEX referrals_by_rep_claim ON referrals (assignee, claim_seconds, created_at)
    WHERE assignee IS NOT NULL AND claim_seconds IS NOT NULL;
CREATE INDEX referrals_by_rep_contact ON referrals (assignee, (contact_seconds - claim_seconds), created_at)
    WHERE assignee IS NOT NULL AND contact_seconds IS NOT NULL AND claim_seconds IS NOT NULL;
