"""The composition root and everything an operator runs: wiring, the CLI, start-up checks, logging, the demo."""
