"""The program a business runs: its settings (environment and .env) and its rules (program.toml)."""
