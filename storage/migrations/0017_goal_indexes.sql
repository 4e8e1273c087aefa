-- Goals (storage/goal_sql.py) count the conversions of a month or quarter and sum their deal values from one range
-- of this index, which holds both, so the referrals themselves are not read. Only converted referrals are in it:
-- an arrival, a claim or a contact writes nothing here.
CREATE INDEX referrals_by_conversion ON referrals (converted_at, deal_value) WHERE converted_at IS NOT NULL;
