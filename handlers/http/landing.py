"""The landing page of every referral link (PUBLIC_URL/r/<code>) for friends outside Telegram, and the e-mail
unsubscribe page. Plain HTML and CSS, no script; every answer carries a strict Content-Security-Policy."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from bot.core.validation import NAME_MAX, NOTE_MAX
from bot.customers.landing import Accepted, FriendForm, LandingPage, Refused
from handlers.http.landing_guard import Csrf, Proxies, RateLimit
from handlers.http.landing_pages import HERE, Pages, PageStrings, choose_locale, mask_address

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page's URL holds the referrer's code
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ERROR_WORDS = {400: "not_allowed", 403: "forbidden", 404: "not_found", 405: "not_allowed", 413: "too_large"}
ERROR_WORDS |= {415: "not_allowed", 429: "too_many", 500: "server_error"}
KEPT_HEADERS = ("Allow", "Retry-After")
CODE = re.compile(r"[A-Za-z0-9]{1,64}")
TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
HONEYPOT = "website"  # a field people never see; bots that fill every field fill it
FIELD_CAPS = {"name": NAME_MAX, "email": 254, "phone": 32, "note": NOTE_MAX}
FORM_FIELDS = 12  # more fields than the form has is not our form


class Landing(Protocol):
    """The domain's side of the page (bot.customers.landing.LandingService)."""

    async def page(self, code: str, locale: str) -> LandingPage: ...

    async def submit(self, submission_id: str, code: str, locale: str, form: FriendForm) -> Accepted | Refused: ...


class Unsubscriber(Protocol):
    async def unsubscribe(self, token: str) -> str | None: ...


@dataclass(frozen=True)
class LandingLimits:
    forms_per_hour: int = 10  # per visitor (LANDING_FORMS_PER_HOUR)
    forms_per_code_per_hour: int = 30  # per referrer's link (LANDING_FORMS_PER_CODE_PER_HOUR)
    max_body: int = 16 * 1024  # the form is a few hundred bytes; anything near this is not a person typing


@dataclass(frozen=True)
class Visit:
    code: str  # empty when the path's code is not even shaped like one
    locale: str


class LandingSite:
    """The routes and the security middleware of the landing server."""

    def __init__(
        self,
        landing: Landing,
        emails: Unsubscriber,
        strings: PageStrings,
        secret: bytes,
        trusted_proxies: Iterable[str],
        limits: LandingLimits = LandingLimits(),  # frozen, so one shared default is safe
        public_url: str = "",
        default_locale: str = "en",
        now: Callable[[], float] = time.time,
    ) -> None:
        self._landing, self._emails, self._pages = landing, emails, Pages(strings)
        self._csrf = Csrf(secret, now=now)
        self._proxies = Proxies(trusted_proxies)
        self._per_visitor = RateLimit(limits.forms_per_hour)
        self._per_code = RateLimit(limits.forms_per_code_per_hour)
        self.max_body = limits.max_body
        self._secure = public_url.startswith("https://")
        # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and for the whole site.
        self._cookie = "__Host-csrf" if self._secure else "csrf"
        self._default_locale = default_locale
        self._headers = SECURITY_HEADERS | ({"Strict-Transport-Security": "max-age=31536000"} if self._secure else {})
        self._stylesheet = (HERE / "static" / "landing.css").read_text(encoding="utf-8")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/r/{code}", self.page),
            web.post("/r/{code}", self.submit),
            web.get("/unsubscribe/{token}", self.unsubscribe_page),
            web.post("/unsubscribe/{token}", self.unsubscribe),
            web.get("/static/landing.css", self.stylesheet),
        ]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every answer, errors included, gets the security headers; errors are pages in the visitor's language."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = self._error(request, exc.status, {k: v for k, v in exc.headers.items() if k in KEPT_HEADERS})
        except Exception:
            log.exception("landing page: %s %s failed", request.method, request.path)
            response = self._error(request, 500)
        response.headers.update(self._headers)
        return response

    async def page(self, request: web.Request) -> web.Response:
        visit = self._visit(request)
        landing = await self._landing.page(visit.code, visit.locale)
        browser = request.cookies.get(self._cookie, "")
        fresh = not Csrf.valid_browser_id(browser)
        if fresh:
            browser = Csrf.new_browser_id()
        response = self._landing_page(request, visit, landing, browser)
        if fresh:
            self._set_cookie(response, browser)
        return response

    async def submit(self, request: web.Request) -> web.Response:
        visit = self._visit(request)
        wait = self._per_visitor.hit(self._proxies.visitor(request)) or self._per_code.hit(visit.code)
        if wait is not None:
            raise web.HTTPTooManyRequests(headers={"Retry-After": str(wait)})
        fields = await self._fields(request)
        browser = request.cookies.get(self._cookie, "")
        nonce = self._csrf.verify(browser, fields.get("csrf"))
        if nonce is None:
            raise web.HTTPForbidden()
        form = FriendForm(
            name=fields.get("name", ""),
            email=fields.get("email", ""),
            phone=fields.get("phone", ""),
            note=fields.get("note", ""),
            consent=fields.get("consent", "") != "",
        )
        if fields.get(HONEYPOT):
            log.info("landing page: a form with its hidden field filled in was ignored")
            return await self._thanks(request, visit)
        result = too_long(form) or await self._landing.submit(nonce, visit.code, visit.locale, form)
        if isinstance(result, Accepted):
            return await self._thanks(request, visit)
        landing = await self._landing.page(visit.code, visit.locale)
        return self._landing_page(request, visit, landing, browser, form, result, status=400)

    async def unsubscribe_page(self, request: web.Request) -> web.Response:
        locale, _ = self._locale(request)
        self._token(request)
        return self._pages.render(request, "unsubscribe.html", locale, t=self._pages.words(locale), done=None)

    async def unsubscribe(self, request: web.Request) -> web.Response:
        """The confirm button, and RFC 8058's one-click POST from a mail client (List-Unsubscribe=One-Click): the
        token in the address is the whole authority, so neither needs a cookie or a body."""
        locale, _ = self._locale(request)
        address = await self._emails.unsubscribe(self._token(request))
        if address is None:
            raise web.HTTPNotFound()
        words = self._pages.words(locale, address=mask_address(address))
        return self._pages.render(request, "unsubscribe.html", locale, t=words, done=True)

    async def stylesheet(self, request: web.Request) -> web.Response:
        headers = {"Cache-Control": "public, max-age=3600"}
        return web.Response(text=self._stylesheet, content_type="text/css", charset="utf-8", headers=headers)

    def _visit(self, request: web.Request) -> Visit:
        code = request.match_info["code"]
        return Visit(code if CODE.fullmatch(code) else "", self._locale(request)[0])

    def _locale(self, request: web.Request) -> tuple[str, bool]:
        return choose_locale(request, self._default_locale)

    @staticmethod
    def _token(request: web.Request) -> str:
        token = request.match_info["token"]
        if not TOKEN.fullmatch(token):
            raise web.HTTPNotFound()
        return token

    async def _fields(self, request: web.Request) -> dict[str, str]:
        """The posted form's fields, the first of each name. aiohttp refuses a body past client_max_size (413)."""
        if request.content_length is not None and request.content_length > self.max_body:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_body, actual_size=request.content_length)
        if request.content_type != "application/x-www-form-urlencoded":
            raise web.HTTPUnsupportedMediaType()
        try:
            pairs = parse_qsl((await request.read()).decode(), keep_blank_values=True, max_num_fields=FORM_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise web.HTTPBadRequest() from None
        fields: dict[str, str] = {}
        for name, value in pairs:
            fields.setdefault(name, value)
        return fields

    def _landing_page(
        self,
        request: web.Request,
        visit: Visit,
        landing: LandingPage,
        browser: str,
        form: FriendForm | None = None,
        refused: Refused | None = None,
        status: int = 200,
    ) -> web.Response:
        words = self._pages.words(visit.locale, program=landing.program, name=landing.referrer_name or "")
        error = None
        if refused is not None:
            key = f"error_{refused.reason}"
            error = {"field": refused.field, "message": words[key if key in words else "error_other"]}
        return self._pages.render(
            request,
            "landing.html",
            visit.locale,
            status,
            t=words,
            page=landing,
            form=form or FriendForm("", "", "", "", False),
            error=error,
            csrf=self._csrf.token(browser),
            honeypot=HONEYPOT,
            caps=FIELD_CAPS,
        )

    async def _thanks(self, request: web.Request, visit: Visit) -> web.Response:
        landing = await self._landing.page(visit.code, visit.locale)
        words = self._pages.words(visit.locale, program=landing.program)
        return self._pages.render(request, "thanks.html", visit.locale, t=words, page=landing)

    def _set_cookie(self, response: web.Response, browser: str) -> None:
        # HttpOnly: no script needs it. Strict: another site's form never carries it, so it cannot post for a visitor.
        response.set_cookie(
            self._cookie, browser, path="/", httponly=True, samesite="Strict", secure=self._secure, max_age=86400
        )

    def _error(self, request: web.Request, status: int, headers: dict[str, str] | None = None) -> web.Response:
        locale, chosen = self._locale(request)
        words = self._pages.words(locale)
        code = request.match_info.get("code")
        again = f"./{code}{f'?lang={locale}' if chosen else ''}" if code and CODE.fullmatch(code) else None
        kind = ERROR_WORDS.get(status, "not_allowed")
        if status == 404 and "token" in request.match_info:
            kind = "unsubscribe_unknown"
        context: dict[str, Any] = {"t": words, "kind": kind, "again": again}
        response = self._pages.render(request, "error.html", locale, status, **context)
        response.headers.update(headers or {})
        return response


def too_long(form: FriendForm) -> Refused | None:
    """A field past its cap is refused here, before the domain spends anything on it."""
    for field, cap in FIELD_CAPS.items():
        if len(getattr(form, field)) > cap:
            return Refused(field=field, reason=f"bad_{field}")
    return None
