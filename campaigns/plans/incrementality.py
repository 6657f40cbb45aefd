"""Incrementality factors: the share of a placement's attributed sales that the ads actually caused.

Resolution order for a cell: the plan request's overrides, then the tenant's stored factors (experiment readouts
or analyst entries), each from the most specific key to the least — network|placement|campaign, network|placement,
placement, network — then the defaults below.
The defaults are deliberately conservative mid-range readings of published retail-media lift studies: search
placements that catch shoppers already looking for the brand are the least incremental, browse and off-site the
most. Every plan says which source each factor came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from campaigns.plans.models import IncrementalityFactor

DEFAULT_FACTORS = {
    "top_of_search": 0.40,
    "rest_of_search": 0.55,
    "in_grid": 0.50,
    "product_page": 0.45,
    "buy_box": 0.45,
    "carousel": 0.60,
    "homepage": 0.60,
    "browse": 0.60,
    "onsite_display": 0.60,
    "offsite": 0.65,
    "video": 0.65,
    "other": 0.50,
}
FALLBACK = 0.5
BAD_FACTOR = "incrementality for {key!r} must be a number above 0 and at most 1"


@dataclass(frozen=True)
class Factor:
    value: float
    source: str


class Factors:
    """Resolves a (network, placement) pair to its factor and says where it came from."""

    def __init__(self, overrides: Mapping[str, float] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.stored = {(f.network, f.placement, f.campaign): f for f in IncrementalityFactor.objects.all()}

    def __call__(self, network: str, placement: str, campaign: str = "") -> Factor:
        keys = [(network, placement, campaign)] if campaign else []
        keys += [(network, placement, ""), ("", placement, ""), (network, "", "")]
        for key in keys:
            text = "|".join(part for part in key if part)
            if text in self.overrides:
                return Factor(float(self.overrides[text]), f"plan request ({text})")
        for key in keys:
            stored = self.stored.get(key)
            if stored is not None:
                return Factor(stored.factor, stored.source or "stored")
        if placement in DEFAULT_FACTORS:
            return Factor(DEFAULT_FACTORS[placement], "default for the placement")
        return Factor(FALLBACK, "default")


def validate_overrides(overrides: object) -> dict[str, float]:
    """`{"walmart|in_grid|281527": 0.72, "walmart|carousel": 0.7, "top_of_search": 0.35, "instacart": 0.5}` →
    floats in (0, 1]; ValueError names the bad key."""
    if overrides in (None, ""):
        return {}
    if not isinstance(overrides, dict):
        raise ValueError("incrementality must be an object of network|placement → factor")
    out = {}
    for key, value in overrides.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(BAD_FACTOR.format(key=key)) from None
        if not 0 < number <= 1:
            raise ValueError(BAD_FACTOR.format(key=key))
        out[str(key)] = number
    return out
