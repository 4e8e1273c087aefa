"""Errors the engine reports to operators as one clear line."""


class ConfigError(Exception):
    """A setting or the program file is invalid; the message names the field."""
