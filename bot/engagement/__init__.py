"""Keeping advocates engaged: asks and their follow-ups, NPS, the feedback survey, A/B copy."""
