"""The figures: stats, the leaderboard, tallies, exports, and Prometheus metrics."""
