"""Whose names a stored text carries, besides its recipient's: recorded with the text when it is queued, so that
forgetting a person finds every text that names them by whose name it is, however short the name or whatever its
script (a search of the text cannot tell "Jo" or "X" from part of another word)."""

from __future__ import annotations


def person(telegram_id: int) -> str:
    """A customer, named by their own name."""
    return f"tg:{telegram_id}"


def friend_of(referral_id: str) -> str:
    """The friend of a referral, by their own name or by the one the referrer typed: known only by a contact until
    they join, they are found through the referrals that name them as the friend."""
    return f"friend:{referral_id}"
