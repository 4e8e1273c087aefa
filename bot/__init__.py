"""referral-bot: a customer referral program that runs inside Telegram and Slack."""
