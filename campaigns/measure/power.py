"""Power, sample size and minimum detectable effect (MDE) for the tests we plan: conversion rates (two-sample
z-test on Cohen's h), means (two-sample t-test) and geo-level lift read out by a difference-in-differences on
weekly blocks of regional sales. Pure functions: no Django, no database.

Every lift is relative (0.1 = +10 %). Every test is two-sided. Proportion and mean results agree with statsmodels'
`NormalIndPower` (with `proportion_effectsize`) and `TTestIndPower`; the geo calculation is checked against its own
readout, `did_lift` + `did_significant`, by simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

# Every message starts with the argument it is about, so callers (and tests) can tell which input was bad.
NOT_PROBABILITY = "{name}: must be strictly between 0 and 1; got {value!r}"
NOT_POSITIVE = "{name}: must be positive; got {value!r}"
NOT_FINITE = "{name}: must be a finite number; got {value!r}"
POWER_NOT_ABOVE_ALPHA = "power: must be above alpha ({alpha}), which any test reaches with no effect; got {power}"
LIFT_AT_MOST_MINUS_ONE = "lift: must be above -1 (a lift of -1 is no sales at all); got {value!r}"
LIFT_ZERO = "lift: must be non-zero; no sample size detects no effect"
RATE_ABOVE_ONE = "lift: baseline × (1 + lift) = {rate:.6g} is not a conversion rate (must be at most 1)"
TOO_FEW_PER_ARM = "n_per_arm: must be at least {minimum} (the t-test needs a degree of freedom); got {value!r}"
NO_REACHABLE_LIFT = "n_per_arm: {n} per arm cannot reach power {power} for any lift up to a 100 % conversion rate"
MEAN_ZERO = "mean: must be non-zero; a relative lift of zero is nothing to detect"
BLOCK_DAYS = "block_days: must be a whole number of days, at least 1; got {value!r}"
UNKNOWN_KIND = "kind: must be one of {kinds}; got {value!r}"


# --- Checks -------------------------------------------------------------------------------------------------------


def _check_probability(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(NOT_PROBABILITY.format(name=name, value=value))


def _check_positive(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(NOT_FINITE.format(name=name, value=value))
    if value <= 0:
        raise ValueError(NOT_POSITIVE.format(name=name, value=value))


def _check_power_target(power: float, alpha: float) -> None:
    _check_probability("alpha", alpha)
    _check_probability("power", power)
    if power <= alpha:
        raise ValueError(POWER_NOT_ABOVE_ALPHA.format(alpha=alpha, power=power))


def _check_lift(lift: float) -> None:
    if not math.isfinite(lift):
        raise ValueError(NOT_FINITE.format(name="lift", value=lift))
    if lift <= -1.0:
        raise ValueError(LIFT_AT_MOST_MINUS_ONE.format(value=lift))


def _check_block_days(block_days: int) -> None:
    if isinstance(block_days, bool) or not isinstance(block_days, int | np.integer) or block_days < 1:
        raise ValueError(BLOCK_DAYS.format(value=block_days))


# --- Shared power arithmetic ---------------------------------------------------------------------------------------


def _normal_power(shift: float, alpha: float) -> float:
    """Power of a two-sided z-test whose statistic is N(shift, 1) under the alternative."""
    z = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf(z - abs(shift)) + stats.norm.cdf(-z - abs(shift)))


def _t_power(shift: float, df: float, alpha: float) -> float:
    """Power of a two-sided t-test whose statistic is non-central t(df, shift) under the alternative."""
    crit = stats.t.isf(alpha / 2, df)
    shift = abs(shift)
    upper = 1.0 - special.nctdtr(df, shift, crit)
    # scipy's nctdtr gives NaN for the far lower tail once the shift is large (≈10 with few df): it is below 1e-20.
    lower = special.nctdtr(df, shift, -crit)
    return float(min(1.0, upper + (0.0 if math.isnan(lower) else lower)))


@lru_cache(maxsize=256)
def _shift_for_power(df: float, alpha: float, power: float) -> float:
    """The statistic's shift (noncentrality) at which the test reaches `power`; df = inf means a z-test.

    Cached because durations, curves and simulations ask again for the same (df, alpha, power).
    """

    def power_of(shift: float) -> float:
        return _normal_power(shift, alpha) if math.isinf(df) else _t_power(shift, df, alpha)

    high = stats.norm.isf(alpha / 2) + stats.norm.ppf(power) + 1.0
    while power_of(high) < power:
        high *= 2
    return float(optimize.brentq(lambda shift: power_of(shift) - power, 0.0, high, xtol=1e-12))


def _smallest_n(power_of_n: Callable[[int], float], target: float, n_min: int) -> int:
    """The smallest whole n ≥ n_min with power ≥ target; power grows with n, so double then bisect."""
    high = max(n_min, 1)
    while power_of_n(high) < target:
        high *= 2
    low = max(n_min, high // 2)
    if power_of_n(low) >= target:
        return low
    while high - low > 1:  # power(low) < target ≤ power(high)
        mid = (low + high) // 2
        low, high = (low, mid) if power_of_n(mid) >= target else (mid, high)
    return high


def _effective_n(n_per_arm: float, ratio: float) -> float:
    # 1 / (1/n1 + 1/n2) with n2 = ratio·n1: the n of a one-sample test with the same standard error
    return n_per_arm * ratio / (1.0 + ratio)


# --- Proportions ---------------------------------------------------------------------------------------------------


def _check_proportion(baseline: float, lift: float, alpha: float, ratio: float) -> None:
    _check_probability("baseline", baseline)
    _check_lift(lift)
    if baseline * (1.0 + lift) > 1.0:
        raise ValueError(RATE_ABOVE_ONE.format(rate=baseline * (1.0 + lift)))
    _check_probability("alpha", alpha)
    _check_positive("ratio", ratio)


def _cohens_h(baseline: float, lift: float) -> float:
    """Cohen's h: the arcsine-transformed difference, whose variance no longer depends on the rate."""
    return 2.0 * math.asin(math.sqrt(baseline * (1.0 + lift))) - 2.0 * math.asin(math.sqrt(baseline))


def proportion_power(*, baseline: float, lift: float, n_per_arm: int, alpha: float = 0.05, ratio: float = 1.0) -> float:
    """Power of a two-sided z-test on conversion rates `baseline` vs `baseline × (1 + lift)`.

    `n_per_arm` is the first group's size; the second has `ratio × n_per_arm` (statsmodels' convention).
    """
    _check_proportion(baseline, lift, alpha, ratio)
    _check_positive("n_per_arm", n_per_arm)
    return _normal_power(_cohens_h(baseline, lift) * math.sqrt(_effective_n(n_per_arm, ratio)), alpha)


def proportion_sample_size(
    *, baseline: float, lift: float, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0
) -> int:
    """The smallest first-group size at which `proportion_power` reaches `power`."""
    _check_proportion(baseline, lift, alpha, ratio)
    _check_power_target(power, alpha)
    if lift == 0:
        raise ValueError(LIFT_ZERO)
    return _smallest_n(
        lambda n: proportion_power(baseline=baseline, lift=lift, n_per_arm=n, alpha=alpha, ratio=ratio), power, 1
    )


def proportion_mde(
    *, baseline: float, n_per_arm: int, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0
) -> float:
    """The smallest positive relative lift that `n_per_arm` detects with `power`.

    The required Cohen's h comes from brentq on the power function; inverting h to a rate is closed form.
    """
    _check_probability("baseline", baseline)
    _check_positive("n_per_arm", n_per_arm)
    _check_positive("ratio", ratio)
    _check_power_target(power, alpha)
    h = _shift_for_power(math.inf, alpha, power) / math.sqrt(_effective_n(n_per_arm, ratio))
    angle = math.asin(math.sqrt(baseline)) + h / 2.0
    if angle > math.pi / 2:
        raise ValueError(NO_REACHABLE_LIFT.format(n=n_per_arm, power=power))
    return math.sin(angle) ** 2 / baseline - 1.0


# --- Means ---------------------------------------------------------------------------------------------------------


def _check_mean(mean: float, sd: float, alpha: float, ratio: float) -> None:
    if not math.isfinite(mean):
        raise ValueError(NOT_FINITE.format(name="mean", value=mean))
    if mean == 0:
        raise ValueError(MEAN_ZERO)
    _check_positive("sd", sd)
    _check_probability("alpha", alpha)
    _check_positive("ratio", ratio)


def _t_df(n_per_arm: float, ratio: float) -> float:
    return n_per_arm * (1.0 + ratio) - 2.0


def _check_t_sample(n_per_arm: float, ratio: float) -> None:
    if not math.isfinite(n_per_arm) or _t_df(n_per_arm, ratio) <= 0:
        raise ValueError(TOO_FEW_PER_ARM.format(minimum=_min_t_n(ratio), value=n_per_arm))


def _min_t_n(ratio: float) -> int:
    return math.floor(2.0 / (1.0 + ratio)) + 1


def mean_power(
    *, mean: float, sd: float, lift: float, n_per_arm: int, alpha: float = 0.05, ratio: float = 1.0
) -> float:
    """Power of a two-sided two-sample t-test (pooled variance) to see `mean` move by `lift`; d = mean·lift/sd."""
    _check_mean(mean, sd, alpha, ratio)
    _check_lift(lift)
    _check_t_sample(n_per_arm, ratio)
    d = mean * lift / sd
    return _t_power(d * math.sqrt(_effective_n(n_per_arm, ratio)), _t_df(n_per_arm, ratio), alpha)


def mean_sample_size(
    *, mean: float, sd: float, lift: float, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0
) -> int:
    """The smallest first-group size at which `mean_power` reaches `power`."""
    _check_mean(mean, sd, alpha, ratio)
    _check_lift(lift)
    _check_power_target(power, alpha)
    if lift == 0:
        raise ValueError(LIFT_ZERO)
    return _smallest_n(
        lambda n: mean_power(mean=mean, sd=sd, lift=lift, n_per_arm=n, alpha=alpha, ratio=ratio),
        power,
        _min_t_n(ratio),
    )


def mean_mde(
    *, mean: float, sd: float, n_per_arm: int, power: float = 0.8, alpha: float = 0.05, ratio: float = 1.0
) -> float:
    """The smallest positive relative lift of `mean` that `n_per_arm` detects with `power`."""
    _check_mean(mean, sd, alpha, ratio)
    _check_t_sample(n_per_arm, ratio)
    _check_power_target(power, alpha)
    shift = _shift_for_power(_t_df(n_per_arm, ratio), alpha, power)
    d = shift / math.sqrt(_effective_n(n_per_arm, ratio))
    return d * sd / abs(mean)


# --- Geo: the readout the power calculation assumes ------------------------------------------------------------------


def _geo_power_only(*, lift: float, pre: np.ndarray, **params) -> float:
    from campaigns.measure.geo import geo_power

    return geo_power(pre, lift=lift, **params).power


_POWER_BY_KIND: dict[str, Callable[..., float]] = {
    "proportion": proportion_power,
    "mean": mean_power,
    "geo": _geo_power_only,
}


def power_curve(kind: str, *, lifts: Sequence[float], **params) -> list[tuple[float, float]]:
    """(lift, power) for each lift; `params` are the keyword arguments of `proportion_power`, `mean_power` or
    `geo_power` (for "geo", `pre=` too) less `lift`."""
    if kind not in _POWER_BY_KIND:
        raise ValueError(UNKNOWN_KIND.format(kinds=sorted(_POWER_BY_KIND), value=kind))
    power_of = _POWER_BY_KIND[kind]
    return [(float(lift), power_of(lift=lift, **params)) for lift in lifts]
