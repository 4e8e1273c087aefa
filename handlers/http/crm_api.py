"""The CRM API over HTTP: a bearer token, JSON in and out, and a clear 4xx naming the field for bad input.
docs/crm.md describes it for the people who connect a CRM."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.models import Customer, Referral, Status
from bot.core.wire import wire
from bot.integrations.crm import CrmService, KeyReused, ReferralQuery, Trail
from bot.integrations.webhooks import referral_data

Handler = Callable[[web.Request], Awaitable[web.Response]]
KEY_REUSED = (
    "keys for idempotent requests can only be used with the same parameters they were first used with; this key was "
    "first sent for another referral or customer, or with another body. Send a new key for a new request."
)
MOMENTS = ("claimed_at", "contacted_at", "converted_at", "lost_at", "rejected_at", "updated_at")


class BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ConvertBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deal_value: Decimal = Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)
    actor: str = Field(default="crm", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")


class EventBody(BaseModel):
    """Something a customer did that the bot may act on: for now a purchase, which [[asks.triggers]] may follow."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["purchase"]
    value: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)


class ListParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=200)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _moment(cls, value: object) -> object:
        """A date (midnight UTC) or a time with its offset, as UTC: times are stored in UTC and compared as such.
        A time without an offset is refused, as guessing its zone would silently shift a sync's window."""
        if not isinstance(value, str):
            return value
        try:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        except ValueError:
            pass  # not a date alone
        moment = datetime.fromisoformat(value)  # its ValueError becomes pydantic's message
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("give the time's UTC offset, as in 2026-01-05T10:00:00Z or 2026-01-05T12:00:00+02:00")
        return moment.astimezone(UTC)


def parsed(model: type[BaseModel], data: object) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadInput(field, first["msg"].removeprefix("Value error, ")) from None


def fingerprint(request: web.Request, body: dict[str, Any]) -> str:
    """What makes two requests the same request: method, path and the body as validated (defaults filled in,
    keys sorted), so a retry that spells its JSON differently still matches its first send."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message} | ({"field": field} if field else {})
    headers = {"WWW-Authenticate": 'Bearer realm="referral-bot"'} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


class CrmApi:
    def __init__(self, crm: CrmService, token: str) -> None:
        self._crm = crm
        self._token = token

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/referrals/{referral_id}/convert", self._guarded(self.convert)),
            web.get("/api/referrals", self._guarded(self.listing)),
            web.get("/api/referrals/{referral_id}", self._guarded(self.show)),
            web.post("/api/customers/{telegram_id}/events", self._guarded(self.customer_event)),
        ]

    def _guarded(self, handler: Handler) -> Handler:
        """No token set: the API is off and looks absent. Otherwise the bearer token must match exactly."""

        async def guarded(request: web.Request) -> web.Response:
            if not self._token:
                return error(404, "not found")
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self._token.encode()):
                return error(401, "missing or wrong bearer token (Authorization: Bearer <CRM_API_TOKEN>)")
            try:
                return await handler(request)
            except BadInput as bad:
                return error(400, str(bad), bad.field)

        return guarded

    async def convert(self, request: web.Request) -> web.Response:
        key, data = await key_and_json(request)
        body: ConvertBody = parsed(ConvertBody, data)
        referral_id = request.match_info["referral_id"]
        try:
            result = await self._crm.convert(
                key, referral_id, body.deal_value, body.actor, fingerprint(request, body.model_dump(mode="json"))
            )
        except KeyReused:
            return error(422, f"Idempotency-Key: {KEY_REUSED}", "Idempotency-Key")
        if result.referral is None:
            return error(404, "no referral with this id")
        shown = referral_json(result.referral, await self._crm.referrers([result.referral]))
        if result.refused is not None:
            return web.json_response({"error": result.refused, "referral": shown}, status=409)
        return web.json_response({"referral": shown})

    async def customer_event(self, request: web.Request) -> web.Response:
        key, data = await key_and_json(request)
        telegram_id = request.match_info["telegram_id"]
        if not telegram_id.isascii() or not telegram_id.isdigit() or len(telegram_id) > 19:
            raise BadInput("telegram_id", "a customer's Telegram user id, a whole number such as 123456789")
        body: EventBody = parsed(EventBody, data)
        customer = int(telegram_id)
        try:
            asks = await self._crm.purchase(
                key, customer, body.value, fingerprint(request, body.model_dump(mode="json"))
            )
        except KeyReused:
            return error(422, f"Idempotency-Key: {KEY_REUSED}", "Idempotency-Key")
        if asks is None:
            return error(404, "no customer with this Telegram user id")
        scheduled = [{"trigger": ask.trigger, "due_at": wire(ask.due_at)} for ask in asks]
        return web.json_response(
            {"customer": customer, "type": body.type, "value": wire(body.value), "asks": scheduled}
        )

    async def listing(self, request: web.Request) -> web.Response:
        params: ListParams = parsed(ListParams, dict(request.query))
        query = ReferralQuery(params.status, params.since, params.until, params.cursor, params.limit)
        try:
            page = await self._crm.page(query)
        except ValueError as exc:
            raise BadInput("cursor", str(exc)) from None
        referrers = await self._crm.referrers(page.referrals)
        return web.json_response(
            {"referrals": [referral_json(r, referrers) for r in page.referrals], "next_cursor": page.next_cursor}
        )

    async def show(self, request: web.Request) -> web.Response:
        trail = await self._crm.trail(request.match_info["referral_id"])
        if trail is None:
            return error(404, "no referral with this id")
        return web.json_response(trail_json(trail, await self._crm.referrers([trail.referral])))


async def key_and_json(request: web.Request) -> tuple[str | None, Any]:
    """A POST's Idempotency-Key (if any) and its JSON body, each checked."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise BadInput("Idempotency-Key", "use 1 to 200 characters")
    try:
        return key, json.loads(await request.read() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadInput("body", "not valid JSON") from None


def referral_json(referral: Referral, referrers: dict[int, Customer] | None = None) -> dict[str, Any]:
    """The webhook's fields, the time of each step, and who the friend and the referrer are outside Telegram
    (`referrers`: the stored referrers by id)."""
    moments = {name: wire(getattr(referral, name)) for name in MOMENTS}
    referrer = (referrers or {}).get(referral.referrer_id)
    return {
        **referral_data(referral),
        **moments,
        "lost_reason": referral.lost_reason,
        "review": referral.review,
        # Ids below zero are no Telegram user's: an advocate imported by e-mail, or a forgotten person.
        "referrer_telegram_id": referral.referrer_id if referral.referrer_id > 0 else None,
        "referrer_email": referrer.email if referrer is not None else None,
    }


def trail_json(trail: Trail, referrers: dict[int, Customer] | None = None) -> dict[str, Any]:
    return {"referral": referral_json(trail.referral, referrers), "trail": trail.events, "rewards": trail.rewards}
