"""Outbound webhooks: referral events for the business's own systems (a CRM, a data warehouse).

Each event becomes one outbox row per receiving URL, written in the transaction of the change it
reports, so an event is never lost and never sent for a change that rolled back. The sender signs
the body as Stripe does; receivers check it with `verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.core.models import Referral, Reward
from bot.core.subjects import friend_of
from bot.core.wire import wire

if TYPE_CHECKING:
    from bot.core.unit_of_work import Work

SIGNATURE_HEADER = "Referral-Bot-Signature"
EVENT_ID_HEADER = "Referral-Bot-Event-Id"
KINDS = ("referral.created", "referral.status_changed", "reward.issued")


class Webhooks:
    """Queues events for the configured receivers; with none configured it queues nothing."""

    def __init__(self, urls: Sequence[str] = ()) -> None:
        self.urls = tuple(urls)

    async def emit(self, w: Work, kind: str, subject: str, data: dict[str, Any], about: Sequence[str] = ()) -> None:
        """`about`: whose names the data carries (bot/core/subjects.py)."""
        if not self.urls:
            return
        event_id = event_id_for(w.inbound_id, kind, subject)
        event = {"id": event_id, "type": kind, "created_at": wire(w.now), "data": data}
        for url in self.urls:
            await w.post("webhook", url, event, key=f"webhook:{event_id}:{url}", about=about)

    async def referral_created(self, w: Work, referral: Referral) -> None:
        await self.emit(w, "referral.created", referral.id, referral_data(referral), [friend_of(referral.id)])

    async def status_changed(self, w: Work, referral: Referral, previous: str, actor: str) -> None:
        """`referral` as it is after the change."""
        data = {**referral_data(referral), "previous_status": previous, "actor": actor}
        await self.emit(w, "referral.status_changed", referral.id, data, [friend_of(referral.id)])

    async def reward_issued(self, w: Work, reward: Reward) -> None:
        await self.emit(w, "reward.issued", reward.id, reward_data(reward))


def event_id_for(inbound_id: str, kind: str, subject: str) -> str:
    """The same change always has the same event id, so receivers can drop a repeated delivery."""
    return "evt_" + hashlib.sha256(f"{inbound_id}|{kind}|{subject}".encode()).hexdigest()[:24]


def referral_data(referral: Referral) -> dict[str, Any]:
    consented = referral.friend_consent_at is not None
    return {
        "referral_id": referral.id,
        "status": referral.status,
        "referrer_id": referral.referrer_id,
        "friend_telegram_id": referral.friend_telegram_id,
        "friend_name": referral.friend_name,
        "friend_contact": referral.friend_contact if consented else None,  # only what the friend agreed to share
        "friend_contact_kind": referral.friend_contact_kind if consented else None,
        "friend_phone": referral.friend_phone if consented else None,  # a landing-page friend's, beside the address
        "friend_consent_text": referral.friend_consent_text,
        "friend_consent_at": wire(referral.friend_consent_at),
        "source": referral.source,
        "channel": referral.channel,
        "variant": referral.variant,
        "flagged": referral.flagged,
        "assignee": referral.assignee,
        "deal_value": wire(referral.deal_value),
        "created_at": wire(referral.created_at),
    }


def reward_data(reward: Reward) -> dict[str, Any]:
    return {
        "reward_id": reward.id,
        "referral_id": reward.referral_id,
        "customer_id": reward.customer_id,
        "role": reward.role,
        "kind": reward.kind,
        "description": reward.description,
        "amount": wire(reward.amount),
        "currency": reward.currency,
        "code": reward.code,
        "tier": reward.tier,
        "issued_at": wire(reward.issued_at),
    }


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """For receivers: True when `header` (the Referral-Bot-Signature value) signs exactly `body` with
    `secret`, and its timestamp is within `tolerance` seconds of now, so a captured request cannot be
    replayed later. Pass the raw request body, before any JSON parsing."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
