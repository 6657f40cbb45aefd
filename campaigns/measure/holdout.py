"""Audience holdout tests: a random share of a retailer's audience segment never sees the ads, and the lift is the
exposed group's conversion rate over the holdout's. Design (holdout share, power, MDE) and readout (lift, interval,
iROAS, verdict) from aggregates only. Pure functions: no Django, no database.

User-level data stays in the retailer's clean room (k-anonymity, differential-privacy noise on counts); this module
sees only what an `AudienceSource` returns. Until the clean room exists, `StatedAudience` answers from the numbers
the user stated. Power is `proportion_power` with ratio = exposed / holdout, which agrees with statsmodels'
`NormalIndPower`; the readout (log relative risk, DP noise in its variance) is checked against it by simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy import stats

from campaigns.measure.power import (
    LIFT_ZERO,
    _check_lift,
    _check_positive,
    _check_power_target,
    _check_probability,
    mean_mde,
    proportion_mde,
    proportion_power,
)

# Every message starts with the argument it is about, so callers (and tests) can tell which input was bad.
NOT_WHOLE = "{name}: must be a whole number, at least {minimum}; got {value!r}"
NOT_AMOUNT = "{name}: must be a finite number, at least 0; got {value!r}"
ABOVE_USERS = "{name}: must be at most the users ({users:g}); got {value!r}"
NO_RATE = "converters: the baseline needs both converters and non-converters; got {converters} of {users} users"
SD_WITHOUT_REVENUE = "revenue_sd: needs the revenue it is the spread of"
SD_ZERO = "revenue_sd: must be positive; got {value!r}"
REVENUE_PAIR = "holdout_revenue: give the revenue of both groups or of neither"
NEED_SHARE_OR_LIFT = "holdout_share: give a share (for its power and MDE) or a lift (for the smallest share seeing it)"
SHARE_RANGE = "{name}: must be above 0 and at most 0.5 (beyond, more users are hidden than shown); got {value!r}"
SEGMENT_TOO_SMALL = "baseline: {users} users cannot make two groups of at least min_group ({min_group}) users"
SHARE_TOO_SMALL = "holdout_share: {share:g} of {users} users holds out {n}, below min_group ({min_group})"
NO_MDE = "holdout_share: {n} held-out users cannot reach power {power} for any lift up to a 100 % conversion rate"
NO_SHARE_REACHES = ("lift: {lift:+.2%} is out of reach at power {power}: even a 50 % holdout only detects lifts of "
                    "{mde:+.2%} or more")
TOO_FEW_USERS = ("outcome: the {group} group has {users:g} users, below the k-anonymity minimum of {min_group}; the "
                 "clean room does not release groups that small, so no readout is given")
NO_CONVERTERS = "outcome: the {group} group has no converters; a relative lift needs converters in both groups"
NO_REVENUE = "outcome: the {group} group has no revenue; incremental revenue needs revenue in both groups"
SPEND_NEEDS_REVENUE = "spend: iROAS needs each group's revenue; the outcome has none"
NOT_MAPPING = "{name}: must be a mapping of names to numbers; got {value!r}"
UNKNOWN_KEYS = "{name}: unknown keys {keys}; expected some of {allowed}"
MISSING_KEYS = "{name}: missing {keys}"
UNKNOWN_SEGMENT = "segment: no numbers were stated for {segment!r}; stated: {known}"
NO_OUTCOME = "segment: no outcome was stated for {segment!r}"


# --- What the clean room (or the user) tells us ----------------------------------------------------------------------


def _whole(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(NOT_WHOLE.format(name=name, minimum=minimum, value=value))
    return int(value)


def _amount(name: str, value: Any) -> float:
    numeric = isinstance(value, int | float | Decimal | np.number) and not isinstance(value, bool)
    if not numeric or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(NOT_AMOUNT.format(name=name, value=value))
    return float(value)


def _floats(instance: Any, *names: str) -> None:
    # Checked once, and stored as float: Decimal money (STYLE §6) meets the statistics here.
    for name in names:
        if getattr(instance, name) is not None:
            object.__setattr__(instance, name, _amount(name, getattr(instance, name)))


@dataclass(frozen=True, kw_only=True)
class AudienceBaseline:
    """The segment before the test: its users, how many of them converted (and spent) over `days`."""

    users: int
    converters: int
    days: int
    revenue: float | None = None
    revenue_sd: float | None = None  # per-user sd of revenue over `days`; enables a revenue MDE

    def __post_init__(self) -> None:
        if _whole("converters", self.converters) > _whole("users", self.users):
            raise ValueError(ABOVE_USERS.format(name="converters", users=self.users, value=self.converters))
        _whole("days", self.days, 1)
        _floats(self, "revenue", "revenue_sd")
        if self.revenue_sd is not None and self.revenue is None:
            raise ValueError(SD_WITHOUT_REVENUE)
        if self.revenue_sd == 0:
            raise ValueError(SD_ZERO.format(value=self.revenue_sd))


@dataclass(frozen=True, kw_only=True)
class HoldoutOutcome:
    """The test's aggregates. Counts may carry the clean room's Gaussian noise (sd `noise_sd`, 0 if none), so they
    need not be whole; groups under `min_group` users are what the clean room would refuse to release."""

    exposed_users: float
    exposed_converters: float
    holdout_users: float
    holdout_converters: float
    exposed_revenue: float | None = None
    holdout_revenue: float | None = None
    noise_sd: float = 0.0
    min_group: int = 50

    def __post_init__(self) -> None:
        _floats(self, "exposed_users", "exposed_converters", "holdout_users", "holdout_converters", "exposed_revenue",
                "holdout_revenue", "noise_sd")
        for group in ("exposed", "holdout"):
            users, converters = getattr(self, f"{group}_users"), getattr(self, f"{group}_converters")
            if converters > users:
                raise ValueError(ABOVE_USERS.format(name=f"{group}_converters", users=users, value=converters))
        if (self.exposed_revenue is None) != (self.holdout_revenue is None):
            raise ValueError(REVENUE_PAIR)
        _whole("min_group", self.min_group, 1)


@runtime_checkable
class AudienceSource(Protocol):
    """Aggregate-only queries on a retailer's audience; the clean room implements it with k-anonymity and DP."""

    def segment_size(self, segment: str) -> int: ...

    def baseline(self, segment: str, *, days: int) -> AudienceBaseline: ...

    def outcome(self, segment: str, *, start: date, end: date) -> HoldoutOutcome: ...


_SEGMENT_KEYS = {"users", "converters", "days", "revenue", "revenue_sd", "outcome"}
_OUTCOME_COUNTS = ("exposed_users", "exposed_converters", "holdout_users", "holdout_converters")
_OUTCOME_KEYS = {*_OUTCOME_COUNTS, "exposed_revenue", "holdout_revenue", "noise_sd", "min_group"}


def _keys(name: str, value: Any, allowed: set[str], required: set[str]) -> Mapping:
    if not isinstance(value, Mapping):
        raise ValueError(NOT_MAPPING.format(name=name, value=value))
    if unknown := set(value) - allowed:
        raise ValueError(UNKNOWN_KEYS.format(name=name, keys=sorted(map(str, unknown)), allowed=sorted(allowed)))
    if missing := required - set(value):
        raise ValueError(MISSING_KEYS.format(name=name, keys=sorted(missing)))
    return value


def _at(path: str, build: Callable[..., Any], fields: Mapping[str, Any]) -> Any:
    try:  # the dataclasses name the field; the path says which segment (and part) it belongs to
        return build(**fields)
    except ValueError as error:
        raise ValueError(f"{path}.{error}")


def _stated_outcome(**fields: Any) -> HoldoutOutcome:
    for name in _OUTCOME_COUNTS:  # stated counts are exact; only the clean room's carry noise
        _whole(name, fields[name])
    return HoldoutOutcome(**fields)


class StatedAudience:
    """Answers from numbers the user stated, e.g. {"lapsed cereal buyers": {"users": 200_000, "converters": 3_100,
    "days": 28, "revenue": 41_000, "outcome": {"exposed_users": 180_000, ...}}}: the only source until the clean
    room exists. It answers with what was stated whatever the window asked: `AudienceBaseline.days` says which, and
    a stated outcome is taken to be the test's."""

    def __init__(self, stated: Mapping[str, Any]) -> None:
        if not isinstance(stated, Mapping):
            raise ValueError(NOT_MAPPING.format(name="stated", value=stated))
        self._baselines: dict[str, AudienceBaseline] = {}
        self._outcomes: dict[str, HoldoutOutcome] = {}
        for segment, numbers in stated.items():
            path = f"stated[{segment!r}]"
            numbers = _keys(path, numbers, _SEGMENT_KEYS, {"users", "converters", "days"})
            fields = {k: v for k, v in numbers.items() if k != "outcome"}
            self._baselines[segment] = _at(path, AudienceBaseline, fields)
            if "outcome" in numbers:
                outcome = _keys(f"{path}.outcome", numbers["outcome"], _OUTCOME_KEYS, set(_OUTCOME_COUNTS))
                self._outcomes[segment] = _at(f"{path}.outcome", _stated_outcome, outcome)

    def _segment(self, segment: str) -> AudienceBaseline:
        if segment not in self._baselines:
            raise ValueError(UNKNOWN_SEGMENT.format(segment=segment, known=sorted(self._baselines)))
        return self._baselines[segment]

    def segment_size(self, segment: str) -> int:
        return self._segment(segment).users

    def baseline(self, segment: str, *, days: int) -> AudienceBaseline:
        _whole("days", days, 1)
        return self._segment(segment)

    def outcome(self, segment: str, *, start: date, end: date) -> HoldoutOutcome:
        self._segment(segment)
        if segment not in self._outcomes:
            raise ValueError(NO_OUTCOME.format(segment=segment))
        return self._outcomes[segment]


# --- Design ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldoutDesign:
    holdout_share: float
    exposed_users: int
    holdout_users: int
    test_days: int
    rate: float  # the baseline conversion rate over the test's days
    power: float  # the target power, which `mde` reaches
    mde: float  # smallest relative lift in conversion rate detected with `power`
    lift: float | None
    power_at_lift: float | None
    incremental_conversions: float  # expected from the exposed group, at `lift` (or at the MDE without one)
    incremental_revenue: float | None  # the same × the baseline's revenue per converter
    revenue_mde: float | None  # relative lift in revenue per user detected with `power` (t-test), with revenue_sd
    cost: int  # users the ads are not shown to: the price of measuring
    forgone_conversions: float  # what the holdout would have added at `lift` (or at the MDE)


def _test_rate(baseline: AudienceBaseline, test_days: int) -> float:
    if not 0 < baseline.converters < baseline.users:
        raise ValueError(NO_RATE.format(converters=baseline.converters, users=baseline.users))
    # A user counts once however often they buy, so a longer window gains fewer new converters: a constant daily
    # chance of converting turns a rate over `days` into 1 − (1 − rate)^(test_days / days).
    daily = math.log1p(-baseline.converters / baseline.users) / baseline.days
    return -math.expm1(daily * test_days)


def _noisy_n(users: float, rate: float, noise_sd: float) -> float:
    # Noise of sd σ on both counts adds σ²(1 + p²)/n² to the rate's variance p(1 − p)/n: as if n were this much smaller.
    return users / (1.0 + noise_sd**2 * (1.0 + rate**2) / (users * rate * (1.0 - rate)))


def _arms(users: int, n_holdout: int, rate: float, noise_sd: float) -> dict[str, float]:
    """`proportion_power`'s first group is the holdout; ratio = exposed / holdout (statsmodels' convention)."""
    exposed, holdout = _noisy_n(users - n_holdout, rate, noise_sd), _noisy_n(n_holdout, rate, noise_sd)
    return {"n_per_arm": holdout, "ratio": exposed / holdout}


def _mde(users: int, n_holdout: int, rate: float, noise_sd: float, power: float, alpha: float) -> float:
    try:
        return proportion_mde(baseline=rate, power=power, alpha=alpha, **_arms(users, n_holdout, rate, noise_sd))
    except ValueError:  # no lift up to a 100 % conversion rate reaches the power
        return math.inf


def _smallest_share(users: int, min_group: int, step: float, reaches: Callable[[int], bool]) -> float | None:
    shares = [round(k * step, 12) for k in range(1, math.floor(0.5 / step + 1e-9) + 1)]
    shares = [share for share in shares if round(users * share) >= min_group]
    # Power grows with the holdout up to half the segment (1/n_exposed + 1/n_holdout shrinks), so bisect.
    low, high = 0, len(shares)
    while low < high:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(round(users * shares[mid])) else (mid + 1, high)
    return shares[low] if low < len(shares) else None


def holdout_design(
    baseline: AudienceBaseline,
    *,
    holdout_share: float | None,
    lift: float | None,
    test_days: int,
    power: float = 0.8,
    alpha: float = 0.05,
    min_group: int = 50,
    noise_sd: float = 0.0,
    share_step: float = 0.01,
) -> HoldoutDesign:
    """Power and MDE for `holdout_share`, or (share None) the smallest multiple of `share_step` whose holdout detects
    `lift` with `power`. `noise_sd` is the clean room's noise on each count, which costs power like fewer users."""
    _check_power_target(power, alpha)
    test_days = _whole("test_days", test_days, 1)
    _whole("min_group", min_group, 1)
    noise_sd = _amount("noise_sd", noise_sd)
    for name, value in (("holdout_share", holdout_share), ("share_step", share_step)):
        if value is not None and not (isinstance(value, int | float) and 0 < value <= 0.5):
            raise ValueError(SHARE_RANGE.format(name=name, value=value))
    if holdout_share is None and lift is None:
        raise ValueError(NEED_SHARE_OR_LIFT)
    if lift is not None:
        _check_lift(lift)
        if lift == 0:
            raise ValueError(LIFT_ZERO)
    users = baseline.users
    if users < 2 * min_group:
        raise ValueError(SEGMENT_TOO_SMALL.format(users=users, min_group=min_group))
    rate = _test_rate(baseline, test_days)

    def power_at(n_holdout: int) -> float:
        return proportion_power(baseline=rate, lift=lift, alpha=alpha, **_arms(users, n_holdout, rate, noise_sd))

    if holdout_share is None:
        holdout_share = _smallest_share(users, min_group, share_step, lambda n: power_at(n) >= power)
        if holdout_share is None:
            mde = _mde(users, round(users * 0.5), rate, noise_sd, power, alpha)
            raise ValueError(NO_SHARE_REACHES.format(lift=lift, power=power, mde=mde))
    n_holdout = round(users * holdout_share)
    if n_holdout < min_group:
        raise ValueError(SHARE_TOO_SMALL.format(share=holdout_share, users=users, n=n_holdout, min_group=min_group))
    mde = _mde(users, n_holdout, rate, noise_sd, power, alpha)
    if math.isinf(mde):
        raise ValueError(NO_MDE.format(n=n_holdout, power=power))
    effect = mde if lift is None else lift
    incremental = (users - n_holdout) * rate * effect
    revenue_mde = None
    if baseline.revenue_sd is not None and baseline.revenue:
        # The relative MDE is scale-free if revenue's spread grows with its mean, so the baseline's days do not matter.
        revenue_mde = mean_mde(mean=baseline.revenue / users, sd=baseline.revenue_sd, n_per_arm=n_holdout,
                               ratio=(users - n_holdout) / n_holdout, power=power, alpha=alpha)
    return HoldoutDesign(
        holdout_share=holdout_share, exposed_users=users - n_holdout, holdout_users=n_holdout, test_days=test_days,
        rate=rate, power=power, mde=mde, lift=lift, power_at_lift=None if lift is None else power_at(n_holdout),
        incremental_conversions=incremental,
        incremental_revenue=None if baseline.revenue is None else incremental * baseline.revenue / baseline.converters,
        revenue_mde=revenue_mde, cost=n_holdout, forgone_conversions=n_holdout * rate * effect,
    )


# --- Readout ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldoutReadout:
    level: float  # 1 − alpha, the intervals' coverage
    exposed_rate: float
    holdout_rate: float
    lift: float  # exposed rate / holdout rate − 1
    lift_interval: tuple[float, float]
    p_value: float  # two-sided z-test on the log relative risk, so p < alpha exactly when the interval excludes 0
    incremental_conversions: float  # exposed converters − exposed users × holdout rate
    incremental_conversions_interval: tuple[float, float]
    incremental_revenue: float | None
    incremental_revenue_interval: tuple[float, float] | None
    iroas: float | None
    iroas_interval: tuple[float, float] | None
    noise_sd: float
    verdict: str


def _var_log_rate(users: float, converters: float, noise_sd: float) -> float:
    # Delta method on log(converters) − log(users): binomial converters given the (designed) group size, plus the DP
    # noise on each count. Group sizes are fixed by the randomisation, so only noise makes them uncertain.
    return (converters * (1.0 - converters / users) + noise_sd**2) / converters**2 + noise_sd**2 / users**2


def holdout_readout(outcome: HoldoutOutcome, *, alpha: float = 0.05, spend: float | Decimal | None = None
                    ) -> HoldoutReadout:
    """Relative lift of the exposed group's conversion rate over the holdout's, with its interval and p-value,
    incremental conversions (and revenue, and iROAS on `spend`), and a verdict that claims no more than that."""
    _check_probability("alpha", alpha)
    n_e, c_e, n_h, c_h = (outcome.exposed_users, outcome.exposed_converters, outcome.holdout_users,
                          outcome.holdout_converters)
    for group, users, converters in (("exposed", n_e, c_e), ("holdout", n_h, c_h)):
        if users < outcome.min_group:
            raise ValueError(TOO_FEW_USERS.format(group=group, users=users, min_group=outcome.min_group))
        if converters <= 0:
            raise ValueError(NO_CONVERTERS.format(group=group))
    if spend is not None:
        spend = _amount("spend", spend)
        _check_positive("spend", spend)
        if outcome.exposed_revenue is None:
            raise ValueError(SPEND_NEEDS_REVENUE)
    z = float(stats.norm.isf(alpha / 2))
    log_rr = math.log(c_e / n_e) - math.log(c_h / n_h)
    se = math.sqrt(_var_log_rate(n_e, c_e, outcome.noise_sd) + _var_log_rate(n_h, c_h, outcome.noise_sd))
    bounds = (log_rr - z * se, log_rr + z * se)
    low, high = (math.expm1(b) for b in bounds)
    revenue = revenue_interval = iroas = iroas_interval = None
    if outcome.exposed_revenue is not None:
        r_e, r_h = outcome.exposed_revenue, outcome.holdout_revenue
        for group, value in (("exposed", r_e), ("holdout", r_h)):
            if value <= 0:
                raise ValueError(NO_REVENUE.format(group=group))
        revenue = r_e - n_e * r_h / n_h
        # Revenue's interval borrows the conversion lift's width: it leaves out basket-size variance (the verdict
        # says so), which aggregates without a sum of squares cannot give.
        log_revenue = math.log(r_e / n_e) - math.log(r_h / n_h)
        revenue_interval = tuple(-r_e * math.expm1(-(log_revenue - log_rr + b)) for b in bounds)
        if spend is not None:
            iroas, iroas_interval = revenue / spend, (revenue_interval[0] / spend, revenue_interval[1] / spend)
    readout = HoldoutReadout(
        level=1.0 - alpha, exposed_rate=c_e / n_e, holdout_rate=c_h / n_h, lift=math.expm1(log_rr),
        lift_interval=(low, high), p_value=float(2.0 * stats.norm.sf(abs(log_rr) / se)),
        # c_e − n_e × holdout rate = c_e × (1 − 1/RR), so the lift's bounds carry over (c_e held fixed).
        incremental_conversions=c_e - n_e * c_h / n_h,
        incremental_conversions_interval=(c_e * low / (1.0 + low), c_e * high / (1.0 + high)),
        incremental_revenue=revenue, incremental_revenue_interval=revenue_interval, iroas=iroas,
        iroas_interval=iroas_interval, noise_sd=outcome.noise_sd, verdict="",
    )
    return replace(readout, verdict=_verdict(readout))


def _verdict(r: HoldoutReadout) -> str:
    low, high = r.lift_interval
    span = f"{r.lift:+.1%} ({r.level:.0%} interval {low:+.1%} to {high:+.1%}, p = {r.p_value:.3f})"
    lines = []
    if low > 0:
        inc_low, inc_high = r.incremental_conversions_interval
        lines.append(f"The exposed users converted more than the holdout: {span}, about "
                     f"{r.incremental_conversions:,.0f} incremental conversions ({inc_low:,.0f} to {inc_high:,.0f}).")
    elif high < 0:
        lines.append(f"The exposed users converted less than the holdout: {span}.")
    else:
        lines.append(f"The test cannot tell the lift from zero — {span}. This is not evidence of no effect; the "
                     "interval still allows effects of that size.")
    if r.noise_sd > 0:
        lines.append(f"The interval includes the clean room's privacy noise (sd {r.noise_sd:g} on each count).")
    if r.iroas is not None:
        i_low, i_high = r.iroas_interval
        lines.append(f"Incremental ROAS: {r.iroas:.2f} ({r.level:.0%} interval {i_low:.2f} to {i_high:.2f}); the "
                     "interval carries the conversion uncertainty only, and differences in basket size widen it.")
    return " ".join(lines)
