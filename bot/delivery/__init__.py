"""The outbox dispatcher and the rate limits it sends within."""
