"""Errors the engine reports to operators as one clear line."""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting or the program file is invalid; the message names the field."""


class Unreachable(Exception):
    """A service the settings name could not be reached at start-up. Unlike a ConfigError this may pass by itself
    (the network comes back, the server starts), so the CLI exits with a status systemd restarts on."""


class DatabaseUnavailable(Exception):
    """The database can do no work for now, for a reason outside the bot: a full disk, a server that is away. Nothing
    was stored. The store tells the operator once when this starts and once when it ends, so whoever meets it
    meanwhile (an update, a send, a sweep) need not say it again: the bot's logging leaves such lines out."""


def unreachable(service: str, url: str, setting: str, error: BaseException, secret: str = "") -> Unreachable:
    """Why `service` at `url` (shown as given: pass no password in it) could not be reached, in words, from the
    operating system's error found in `error`'s chain. The setting is named too, as a wrong address fails alike;
    `secret` (a token) is blanked wherever it might appear."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port or (443 if parts.scheme in ('https', 'wss') else 80)}"
    line = (
        f"cannot reach {service} at {url}: {_reason(error, host, where)}."
        f" This is a network problem or the server is down (if the address is wrong, fix {setting})"
    )
    return Unreachable(line.replace(secret, "***") if secret else line)


def _reason(error: BaseException, host: str, where: str) -> str:
    causes = _chain(error)
    unresolved = next((cause for cause in causes if isinstance(cause, socket.gaierror)), None)
    if unresolved is not None:  # "Name or service not known", or "Temporary failure" when there is no DNS at all
        return f"the host name {host} could not be resolved (DNS: {unresolved.strerror or unresolved})"
    if any(isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED for cause in causes):
        return f"the connection to {where} was refused"
    if any(isinstance(cause, TimeoutError) for cause in causes):
        return f"{where} did not answer in time"
    failed = next((cause for cause in causes if isinstance(cause, OSError) and cause.strerror), None)
    if failed is not None:  # such as "Network is unreachable"
        return f"connecting to {where} failed: {failed.strerror}"
    return f"connecting to {where} failed ({str(error) or type(error).__name__})"


def _chain(error: BaseException) -> list[BaseException]:
    """The error and everything it was raised from; aiohttp keeps the socket's own error as `os_error`."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [current.__cause__, current.__context__, getattr(current, "os_error", None)]
    return found
