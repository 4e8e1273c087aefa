"""The parts of `program.toml` that run the program: incentives per segment, tiers, asks, feedback, A/B copy."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bot.program.triggers import AskTrigger, check_triggers

Segment = Literal["inner_circle", "customer", "past_customer", "partner", "prospect"]
SEGMENTS: tuple[Segment, ...] = ("inner_circle", "customer", "past_customer", "partner", "prospect")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedText(Frozen):
    """A text in each locale; English is required and is the fallback."""

    en: str = Field(min_length=1, max_length=1000)
    es: str | None = Field(default=None, max_length=1000)
    fa: str | None = Field(default=None, max_length=1000)

    def get(self, locale: str) -> str:
        return getattr(self, locale, None) or self.en


class RewardRule(LocalizedText):
    """One side's reward: what the person reads, how it is fulfilled, and when it is earned.

    kind: `coupon` hands out the next code of `pool`; `credit` records `amount`; `manual` is a task for a rep
    in Slack with a Done button; `text` is a promise the business keeps by itself.
    """

    kind: Literal["text", "coupon", "credit", "manual"] = "text"
    earned_on: Literal["arrival", "conversion"] = "conversion"
    pool: str | None = Field(default=None, min_length=1, max_length=50, pattern=r"^[\w-]+$")
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    # What it costs the business, for the stats' money: a coupon's `value`, a manual or text reward's `cost` (a
    # credit costs its `amount`), in the program's currency.
    value: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    cost: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    @model_validator(mode="after")
    def _fulfilment_is_complete(self) -> RewardRule:
        if self.kind == "coupon" and self.pool is None:
            raise ValueError("a coupon reward needs `pool`, the name of its code pool")
        if self.kind == "credit" and self.amount is None:
            raise ValueError("a credit reward needs `amount`")
        return self

    @model_validator(mode="after")
    def _priced_by_its_kind(self) -> RewardRule:
        stated = {"credit": "`amount`", "coupon": "`value`"}.get(self.kind, "`cost`")
        if (self.value is not None and self.kind != "coupon") or (self.cost is not None and stated != "`cost`"):
            raise ValueError(f"a {self.kind} reward states what it costs with {stated}: leave the other key out")
        return self

    @property
    def worth(self) -> Decimal | None:
        """What one such reward costs the business; None when the program file does not say."""
        return {"credit": self.amount, "coupon": self.value}.get(self.kind, self.cost)


class Tier(Frozen):
    """A milestone: after this many converted referrals the referrer earns a bonus (once)."""

    conversions: int = Field(ge=1, le=10_000)
    name: LocalizedText
    bonus: RewardRule


def ascending(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    steps = [tier.conversions for tier in tiers]
    if steps != sorted(set(steps)):
        raise ValueError("tiers must have distinct conversions, in ascending order")
    return tiers


class SidesOverride(Frozen):
    friend: RewardRule | None = None
    referrer: RewardRule | None = None
    # The segment's own ladder, in place of the program's (an empty list: no tiers for this segment).
    tiers: tuple[Tier, ...] | None = None

    @field_validator("tiers")
    @classmethod
    def _tiers_ascend(cls, value: tuple[Tier, ...] | None) -> tuple[Tier, ...] | None:
        return ascending(value) if value is not None else None


class Incentives(Frozen):
    friend: RewardRule
    referrer: RewardRule
    segments: dict[Segment, SidesOverride] = Field(default_factory=dict)
    tiers: tuple[Tier, ...] = ()
    low_pool_warning: int = Field(default=20, ge=0, le=1_000_000)  # codes left when Slack is warned

    @field_validator("tiers")
    @classmethod
    def _tiers_ascend(cls, value: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return ascending(value)

    def tiers_for(self, segment: str) -> tuple[Tier, ...]:
        """The ladder a referrer climbs: their segment's own, or the program's."""
        override = self.segments.get(segment)  # type: ignore[call-overload]
        return override.tiers if override is not None and override.tiers is not None else self.tiers

    def for_side(self, segment: str, role: str) -> RewardRule:
        override = self.segments.get(segment)  # type: ignore[call-overload]
        chosen = getattr(override, role, None) if override is not None else None
        return chosen or (self.referrer if role == "referrer" else self.friend)


class QuietHours(Frozen):
    """No asks between start and end, in the business's time zone (end may be after midnight)."""

    start: time = time(21, 0)
    end: time = time(9, 0)

    def covers(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Asks(Frozen):
    """When a customer may be asked to refer, so nobody is asked too often."""

    segments: tuple[Segment, ...] = ("inner_circle", "customer", "partner")
    cooldown_days: int = Field(default=30, ge=0, le=365)
    max_per_90_days: int = Field(default=3, ge=1, le=90)
    quiet_hours: QuietHours | None = QuietHours()
    follow_up_after_days: int = Field(default=7, ge=0, le=90)  # one reminder to those who did not share; 0: none
    # Detractors (NPS 0-6) are never asked by campaigns or triggers; passives (7-8) only while this is true.
    ask_passives: bool = True
    triggers: tuple[AskTrigger, ...] = ()  # asks at the right moment: after a conversion, a purchase, or a schedule

    @field_validator("triggers")
    @classmethod
    def _triggers_fit(cls, value: tuple[AskTrigger, ...], info: ValidationInfo) -> tuple[AskTrigger, ...]:
        quiet = info.data.get("quiet_hours")  # validated before, as it is declared before
        return check_triggers(value, quiet.covers if isinstance(quiet, QuietHours) else None)


class Feedback(Frozen):
    """The satisfaction question that gates asks, and when it is asked without /feedback."""

    nps_after: Literal["conversion", "days", "never"] = "conversion"
    nps_after_days: int = Field(default=14, ge=1, le=365)  # with nps_after = "days": days after joining


class Variant(Frozen):
    """A version of the invite and ask copy. Each customer keeps one, chosen by weight."""

    name: str = Field(min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$")
    weight: int = Field(default=1, ge=0, le=1000)
    invite: LocalizedText | None = None  # replaces the invite card's pitch
    ask: LocalizedText | None = None  # replaces the referral request's text


DEFAULT_VARIANTS = (Variant(name="a"),)
