"""The playground: both sides of the referral program in one browser page, a phone with the customer's Telegram and
the sales team's Slack, driven by the real engine through the emulators."""
