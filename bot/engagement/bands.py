"""NPS bands, and the gate they put on asks: someone unhappy is not asked to bring friends."""

from __future__ import annotations

from typing import Literal

Band = Literal["promoter", "passive", "detractor"]
Gate = Literal["detractor", "passive"]


def band(score: int) -> Band:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def nps_gate(score: int | None, ask_passives: bool) -> Gate | None:
    """Why someone whose latest NPS answer was `score` may not be asked to refer, or None when they may.

    Detractors never are: an ask would reach them at their least willing, and what they told friends would not
    help. Passives are left out when the program says so (`[asks] ask_passives = false`)."""
    if score is None:
        return None
    kind = band(score)
    if kind == "detractor" or (kind == "passive" and not ask_passives):
        return kind
    return None
