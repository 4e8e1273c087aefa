"""A friend's browser for the landing page's plain-HTTP tests, by hand: the cookie and form token a page gives, the
forms it posts, and what a screen reader would be told about the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import aiohttp
from multidict import CIMultiDictProxy

FRIEND = {"name": "Ben Baker", "email": "ben@example.com", "phone": "", "note": "", "consent": "yes", "website": ""}
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


class Fields(HTMLParser):
    """What a screen reader is told about the form: the fields marked invalid, and the error texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.invalid: set[str] = set()
        self.errors: list[str] = []
        self.forms = 0
        self._in_error = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("aria-invalid") == "true":
            self.invalid.add(attributes.get("id") or "")
        self._in_error = "field-error" in (attributes.get("class") or "")
        self.forms += tag == "form"

    def handle_data(self, data: str) -> None:
        if self._in_error and data.strip():
            self.errors.append(data.strip())


@dataclass
class Answer:
    status: int
    text: str
    headers: CIMultiDictProxy[str]

    @property
    def page(self) -> Fields:
        return Fields(self.text)


@dataclass
class Visitor:
    """A friend's browser, by hand: it keeps the page's cookie and form token, and posts from address `ip` (which
    the trusted proxy, 127.0.0.1 here, names in X-Forwarded-For)."""

    session: aiohttp.ClientSession
    base: str
    ip: str = "198.51.100.7"
    cookie: str = ""
    token: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    async def open(self, path: str) -> Answer:
        async with self.session.get(self.base + path, headers={"Cookie": self.cookie}) as response:
            answer = Answer(response.status, await response.text(), response.headers)
        if "Set-Cookie" in answer.headers:
            self.cookie = answer.headers["Set-Cookie"].split(";")[0]
        if found := CSRF_FIELD.search(answer.text):
            self.token = found.group(1)
        return answer

    async def send(self, path: str, **fields: str) -> Answer:
        """Ben's form, as the page's token and cookie make it, with `fields` changed."""
        return await self.post(path, {**FRIEND, "csrf": self.token, **fields})

    async def post(self, path: str, data: dict[str, str] | bytes) -> Answer:
        headers = {"Cookie": self.cookie, "X-Forwarded-For": f"203.0.113.250, {self.ip}", **self.headers}
        if isinstance(data, bytes):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with self.session.post(self.base + path, data=data, headers=headers, allow_redirects=False) as response:
            return Answer(response.status, await response.text(), response.headers)
