"""Who may be referred, the same rules on every path (a link opened, a friend named with /refer): nobody refers
themselves, an existing customer is nobody's new referral, and a friend has one referrer."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import Customer
from bot.core.subjects import friend_of, person
from storage.base import Transaction


@dataclass(frozen=True)
class Friend:
    """The person being referred: a Telegram user who opened a link, or a contact the referrer typed."""

    telegram_id: int | None = None
    contact: str | None = None  # as check_contact cleaned it: @username, +E.164 phone or an e-mail address
    contact_kind: str | None = None  # telegram | phone | email


async def refusal(tx: Transaction, referrer: Customer, friend: Friend) -> str | None:
    """The template that tells the referrer why this friend cannot be referred, or None when they can.

    refer_self: the friend is the referrer (their id, their @username or their shared phone);
    refer_existing_customer: the friend is a customer already; refer_duplicate: someone referred them already."""
    if friend.telegram_id == referrer.telegram_id or _own_username(referrer, friend):
        return "refer_self"
    known = await _customer(tx, friend)
    if known is not None:
        return "refer_self" if known.telegram_id == referrer.telegram_id else "refer_existing_customer"
    if friend.contact is not None and await tx.referral_by_contact(friend.contact) is not None:
        return "refer_duplicate"
    if friend.telegram_id is not None and await tx.referral_for_friend(friend.telegram_id) is not None:
        return "refer_duplicate"
    return None


async def known_as(tx: Transaction, friend: Friend) -> list[str]:
    """Whose name the referrer typed, when the friend is known already (bot/core/subjects.py): the customer, or the
    friend of the referral that has their contact."""
    known = await _customer(tx, friend)
    if known is not None:
        return [person(known.telegram_id)]
    referral = await tx.referral_by_contact(friend.contact) if friend.contact is not None else None
    return [friend_of(referral.id)] if referral is not None else []


def _own_username(referrer: Customer, friend: Friend) -> bool:
    # Telegram usernames are case-blind: @Ana and @ana are one person.
    if friend.contact_kind != "telegram" or friend.contact is None or not referrer.username:
        return False
    return friend.contact[1:].lower() == referrer.username.lower()


async def _customer(tx: Transaction, friend: Friend) -> Customer | None:
    if friend.telegram_id is not None:
        return await tx.customer(friend.telegram_id)
    if friend.contact is not None and friend.contact_kind in {"telegram", "phone"}:
        return await tx.customer_by_contact(friend.contact)
    return None
