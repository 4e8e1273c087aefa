-- One friend across paths: every contact in the one form each path compares, when the credit last moved,
-- and the friend's own answer about the consent a referrer gave for them. Portable SQL.

-- Telegram sends a shared phone number without its +; typed ones were stored in E.164 already.
UPDATE customers SET phone = '+' || phone WHERE phone IS NOT NULL AND phone <> '' AND phone NOT LIKE '+%';
UPDATE referrals SET friend_contact = '+' || friend_contact
    WHERE friend_contact_kind = 'phone' AND friend_contact <> '' AND friend_contact NOT LIKE '+%';
-- Usernames and e-mail addresses are case-blind: lower case, so one index lookup finds a friend however typed.
UPDATE referrals SET friend_contact = lower(friend_contact) WHERE friend_contact_kind IN ('telegram', 'email');

-- NULL until the credit moves: the attribution window then runs from the move, not from the referral's creation.
ALTER TABLE referrals ADD COLUMN credited_at TEXT;
-- A friend referred directly answers for themselves on reaching the bot: they confirmed, or they declined.
ALTER TABLE referrals ADD COLUMN friend_confirmed_at TEXT;
ALTER TABLE referrals ADD COLUMN friend_declined_at TEXT;
-- A friend who shared their own phone number through a link gave their own word already.
UPDATE referrals SET friend_confirmed_at = friend_consent_at WHERE source <> 'direct' AND friend_consent_at IS NOT NULL;
