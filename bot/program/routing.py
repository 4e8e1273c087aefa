"""`[routing]` in program.toml: who gets each referral the moment it reaches the team.

`claim` (the default) leaves every referral to the channel's Claim button. `round_robin` offers each in turn to the
reps of `reps`; `by_segment` to the reps listed for the referrer's segment, or to `fallback` for a segment not listed.
A rep who does not accept within `accept_within_minutes` of business time is passed over for the next.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.program.sections import SEGMENTS, Segment

# A Slack member id as Slack shows it under a profile's "Copy member ID": U… (or W… in Enterprise Grid).
SlackUserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,20}$")]
RepList = tuple[SlackUserId, ...]
ROUND_ROBIN_POOL = "all"  # the one rotation of round_robin; by_segment rotates per segment and in `fallback`
FALLBACK_POOL = "fallback"


class Routing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["claim", "round_robin", "by_segment"] = "claim"
    reps: RepList = ()
    segments: dict[Segment, RepList] = Field(default_factory=dict)
    fallback: RepList = ()
    accept_within_minutes: int = Field(default=5, ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _lists_fit_the_mode(self) -> Routing:
        if self.mode == "claim" and (self.reps or self.segments or self.fallback):
            raise ValueError('reps, segments and fallback are for mode "round_robin" or "by_segment", not "claim"')
        if self.mode == "round_robin" and not self.reps:
            raise ValueError('mode "round_robin" needs `reps`, the Slack member ids to rotate over (U…)')
        if self.mode == "round_robin" and (self.segments or self.fallback):
            raise ValueError('segments and fallback are for mode "by_segment"; round_robin uses `reps`')
        if self.mode == "by_segment":
            self._check_by_segment()
        for name, reps in (("reps", self.reps), ("fallback", self.fallback), *self.segments.items()):
            if len(set(reps)) != len(reps):
                raise ValueError(f"{name} names a rep twice")
        return self

    def _check_by_segment(self) -> None:
        if self.reps:
            raise ValueError('mode "by_segment" takes its reps from [routing.segments] and `fallback`, not `reps`')
        empty = [segment for segment, reps in self.segments.items() if not reps]
        if empty:
            raise ValueError(f"segment {empty[0]} lists no reps: leave it out to use `fallback`")
        missing = [segment for segment in SEGMENTS if segment not in self.segments]
        if missing and not self.fallback:
            raise ValueError(f"no reps for segment {missing[0]}: list them, or give `fallback`")

    @property
    def routed(self) -> bool:
        return self.mode != "claim"

    def pool_for(self, segment: str) -> str:
        """The rotation a referral from a referrer of this segment joins; its cursor is kept per pool."""
        if self.mode == "round_robin":
            return ROUND_ROBIN_POOL
        return segment if segment in self.segments else FALLBACK_POOL

    def reps_of(self, pool: str) -> RepList:
        if pool == ROUND_ROBIN_POOL:
            return self.reps
        if pool == FALLBACK_POOL:
            return self.fallback
        return next((reps for segment, reps in self.segments.items() if segment == pool), self.fallback)

    @property
    def everyone(self) -> RepList:
        """Every rep routing may offer to, once each, in the order the file names them."""
        named = [*self.reps, *(rep for reps in self.segments.values() for rep in reps), *self.fallback]
        return tuple(dict.fromkeys(named))
