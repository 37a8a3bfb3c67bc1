"""Measuring fingereval against humans: metrics, benchmark loaders, weight fitting, leaderboard, `bench` CLI."""
