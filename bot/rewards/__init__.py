"""Two-sided rewards: granted, held, issued or revoked, tiers, and coupon pools."""
