"""What stands between the public and the landing form: CSRF tokens, rate limits, and who the visitor is behind the
operator's proxy."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.core.errors import ConfigError

_NONCE, _STAMP, _MAC = 16, 8, 32
_COOKIE = re.compile(r"[A-Za-z0-9_-]{22}")  # 16 random bytes, base64url without padding
_PURPOSE = b"landing-csrf\0"  # keeps these MACs apart from anything else the same key may ever sign


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class Csrf:
    """Signed double-submit tokens. The cookie holds a random browser id; each page's form carries a token that is an
    HMAC over that id, a fresh nonce and the time it was issued. A page from another site can neither read the cookie
    nor forge a token bound to it, and a browser keeps one cookie across tabs while every form has its own nonce,
    which names the submission so a form sent twice is stored once."""

    def __init__(self, secret: bytes, lifetime: float = 12 * 3600, now: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the landing page's signing key needs at least 16 bytes")
        self._secret, self._lifetime, self._now = secret, lifetime, now

    @staticmethod
    def new_browser_id() -> str:
        return _b64(secrets.token_bytes(16))

    @staticmethod
    def valid_browser_id(value: str | None) -> bool:
        return value is not None and _COOKIE.fullmatch(value) is not None

    def token(self, browser_id: str) -> str:
        body = secrets.token_bytes(_NONCE) + int(self._now()).to_bytes(_STAMP, "big")
        return _b64(body + self._mac(browser_id, body))

    def verify(self, browser_id: str | None, token: str | None) -> str | None:
        """The token's nonce (hex) when it is genuine, bound to this browser and fresh; None otherwise."""
        if not self.valid_browser_id(browser_id) or not token or len(token) > 100:
            return None
        raw = _unb64(token)
        if raw is None or len(raw) != _NONCE + _STAMP + _MAC:
            return None
        body, mac = raw[: _NONCE + _STAMP], raw[_NONCE + _STAMP :]
        assert browser_id is not None  # valid_browser_id said so
        if not hmac.compare_digest(mac, self._mac(browser_id, body)):
            return None
        age = self._now() - int.from_bytes(body[_NONCE:], "big")
        # A minute into the future is allowed: instances behind one proxy may disagree about the time a little.
        return body[:_NONCE].hex() if -60 <= age <= self._lifetime else None

    def _mac(self, browser_id: str, body: bytes) -> bytes:
        return hmac.new(self._secret, _PURPOSE + browser_id.encode() + b"\0" + body, hashlib.sha256).digest()


class RateLimit:
    """At most `limit` hits per key in a burst, refilled evenly over `window` seconds (GCRA: one number per key).
    Keys are capped, the least recently seen forgotten first, so a flood of addresses cannot exhaust memory."""

    def __init__(
        self, limit: int, window: float = 3600.0, now: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._interval = window / limit
        self._burst = window - self._interval  # how far ahead of now a key's schedule may run
        self._now, self._max_keys = now, max_keys
        self._due: OrderedDict[str, float] = OrderedDict()

    def hit(self, key: str) -> int | None:
        """Count one hit: None when it is allowed, else the whole seconds to wait (Retry-After)."""
        now = self._now()
        due = max(self._due.get(key, now), now)
        if due - now > self._burst:
            return max(1, math.ceil(due - now - self._burst))
        self._due[key] = due + self._interval
        self._due.move_to_end(key)
        if len(self._due) > self._max_keys:
            self._due.popitem(last=False)
        return None


class Proxies:
    """The operator's proxies (addresses or networks) whose X-Forwarded-For is believed."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._networks = []
        for entry in entries:
            try:
                self._networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ConfigError(f"setting LANDING_TRUSTED_PROXIES: {entry!r} is not an address or network") from None

    def trusts(self, address: str) -> bool:
        ip = _address(address)
        return ip is not None and any(ip in network for network in self._networks)

    def visitor(self, request: web.Request) -> str:
        """Who sent the request, as a rate-limit key. Only the rightmost X-Forwarded-For entry is read, the one our
        own proxy appended; entries to its left come from the client and may be anything."""
        peer = request.remote or ""
        if self.trusts(peer):
            forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
            claimed = _address(forwarded.rsplit(",", 1)[-1].strip())
            if claimed is not None:
                return _key(claimed)
        ip = _address(peer)
        return _key(ip) if ip is not None else peer


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip


def _key(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # One IPv6 subscriber usually holds a whole /64, so counting single addresses would let them rotate freely.
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
