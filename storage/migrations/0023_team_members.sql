-- The sales team as the bot knows them, one row per Slack user, made the first time they are seen. Portable SQL.
-- locale: the person's own language (en, es or fa) from Slack's users.info, when the app may read it; NULL means
-- not known, and the team's locale (TEAM_LOCALE) applies. away_since: set by `/referrals away`, cleared by
-- `/referrals back`; routing skips a rep while it is set.
CREATE TABLE team_members (
    user_id TEXT PRIMARY KEY,
    locale TEXT,
    locale_checked_at TEXT,
    away_since TEXT,
    updated_at TEXT NOT NULL
);
