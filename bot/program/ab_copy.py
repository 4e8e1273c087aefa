"""A/B copy: which variant a customer sees, and its copy.

A customer's variant is chosen once, at registration, from a hash of their Telegram id and the
program's variant names and weights, so it is stable (the same person, the same answer) and spread by
weight; it is stored on the customer and kept even if the program's variants change later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bot.program.sections import Variant


def choose_variant(telegram_id: int, variants: Sequence[Variant]) -> str:
    """The variant for a new customer: a hash bucket in [0, total weight) walks the weights in order."""
    weighted = [variant for variant in variants if variant.weight > 0]
    total = sum(variant.weight for variant in weighted)
    recipe = ",".join(f"{variant.name}:{variant.weight}" for variant in weighted)
    digest = hashlib.sha256(f"{recipe}|{telegram_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % total
    for variant in weighted:
        if bucket < variant.weight:
            return variant.name
        bucket -= variant.weight
    raise AssertionError("unreachable: the bucket is below the total weight")


def variant_named(variants: Sequence[Variant], name: str) -> Variant | None:
    """The customer's variant as the program describes it now; None when it was since removed."""
    return next((variant for variant in variants if variant.name == name), None)


def invite_pitch(variants: Sequence[Variant], name: str, locale: str) -> str | None:
    """The variant's own invite copy in a locale, or None to keep the built-in text."""
    variant = variant_named(variants, name)
    return variant.invite.get(locale) if variant is not None and variant.invite is not None else None
