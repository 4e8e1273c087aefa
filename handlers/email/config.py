"""Where and how the e-mail sender talks SMTP, read from SMTP_URL, SMTP_FROM and SMTP_REPLY_TO.

`smtp://user:password@host:587` upgrades the connection with STARTTLS when the server offers it, and insists on it
when the URL carries a password for a server on another machine: a password must never cross the network in clear.
`smtps://user:password@host:465` is TLS from the first byte. The user and password are percent-decoded; the URL is
split at its last `@`, so a password with `/`, `#` or `@` in it works as typed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool  # smtps://
    require_starttls: bool
    username: str | None
    password: str | None = field(repr=False)
    sender: str  # the From header as the operator wrote it: Referrals <referrals@example.com>
    reply_to: str = ""  # empty: no Reply-To header, so replies go to the From address
    timeout: float = 30.0  # seconds for each SMTP command, the message's DATA included

    @classmethod
    def parse(cls, url: str, sender: str, reply_to: str = "") -> SmtpConfig:
        """Raises ValueError naming the setting at fault; the message never repeats the URL (it holds a password)."""
        scheme, separator, rest = url.partition("://")
        if not separator or scheme.lower() not in DEFAULT_PORTS:
            raise ValueError("SMTP_URL: use smtp://user:password@host:587 or smtps://user:password@host:465")
        userinfo, _, location = rest.rpartition("@")
        host, port = _host_and_port(location.split("/", 1)[0], DEFAULT_PORTS[scheme.lower()])
        username, has_password, password = userinfo.partition(":")
        if "@" not in parseaddr(sender)[1]:
            raise ValueError("SMTP_FROM: set the address mail comes from, such as Referrals <referrals@example.com>")
        if reply_to and "@" not in parseaddr(reply_to)[1]:
            raise ValueError("SMTP_REPLY_TO: set an e-mail address, or leave it empty")
        implicit_tls = scheme.lower() == "smtps"
        return cls(
            host=host,
            port=port,
            implicit_tls=implicit_tls,
            require_starttls=not implicit_tls and bool(has_password) and not _loopback(host),
            username=unquote(username) or None,
            password=unquote(password) if has_password else None,
            sender=sender,
            reply_to=reply_to,
        )

    @property
    def sender_address(self) -> str:
        """The bare address of SMTP_FROM: the envelope's sender, where bounces go."""
        return parseaddr(self.sender)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2].lower()

    @property
    def where(self) -> str:
        """The server as logs name it: never with the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"


def _host_and_port(location: str, default_port: int) -> tuple[str, int]:
    try:
        parts = urlsplit(f"//{location}")
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("SMTP_URL: the port must be a number, as in smtp://user:password@host:587") from None
    if not host:
        raise ValueError("SMTP_URL: name the server, as in smtp://user:password@smtp.example.com:587")
    return host, port or default_port


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
