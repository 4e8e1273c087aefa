"""The customer loop in Telegram: links, friends arriving, direct referrals, preferences, forgetting."""
