"""The sales team: alerts, the rep workflow, speed-to-lead timers and the managers' dashboard."""
