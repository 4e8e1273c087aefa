"""Routing as stored (migration 0024): where each routed referral stands, and every offer made to a rep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OFFER_DM_KEY = "offer:{}"  # the dedupe key of the outbox row that posts an offer's DM card: its ts is found by it


@dataclass(frozen=True)
class Route:
    """One routed referral. state: `waiting` (for a rep to be picked), `offered` (to one rep, until `due_at`),
    `accepted`, `unrouted` (nobody could take it: it went back to the channel's Claim button) or `closed` (it moved
    on some other way). `step` counts the moves, so a move is applied once however many instances see it due."""

    referral_id: str
    pool: str
    state: str
    step: int
    due_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class Offer:
    """A referral offered to one rep. status: `pending`, `accepted`, `handed_on` (not accepted in time, or its rep
    went away), `reassigned` (by a manager) or `withdrawn` (someone else took it, or it closed). `next_rep` is whom it
    went to after this rep (None: the channel); `turn` its place in the pool's rotation (None: a manager's choice);
    `settled_by` who ended it (a handed-on offer's own rep when it went on because they said they were away)."""

    id: str
    referral_id: str
    rep: str
    pool: str
    offered_at: datetime
    due_at: datetime
    status: str
    turn: int | None = None
    settled_at: datetime | None = None
    settled_by: str | None = None
    next_rep: str | None = None
    locale: str | None = None  # the language the rep's DM card is in


@dataclass(frozen=True)
class RepRouting:
    """One rep's offers in a period, for `/referrals reps`."""

    rep: str
    assigned: int
    accepted_in_time: int
    handed_on: int
