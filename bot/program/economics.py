"""`[economics]` in program.toml (playbook step 3, what referrals are worth): what the program costs a month and what
a customer is worth, so the stats can say how many conversions a month pay for it (bot/reports/money.py)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Economics(BaseModel):
    """Amounts in the [program] currency. `monthly_cost`: what running the program costs a month besides its rewards
    (software, the team's time); `average_customer_value`: what a new customer brings (their first year's margin,
    say); `referred_value_uplift_percent`: how much more a referred customer is worth over their lifetime."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    monthly_cost: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    average_customer_value: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    referred_value_uplift_percent: Decimal = Field(default=Decimal(0), ge=0, le=1000, decimal_places=2)

    @property
    def referred_customer_value(self) -> Decimal:
        """What one referred customer is worth: the average customer, plus the uplift."""
        return self.average_customer_value * (1 + self.referred_value_uplift_percent / 100)
