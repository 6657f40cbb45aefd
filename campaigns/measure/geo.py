"""Geo-level lift: power, MDE and duration of a geo test read out by a difference-in-differences on weekly blocks
of regional sales, and that readout itself (`did_lift`, `did_significant`). Pure functions: no Django, no database.

Every lift is relative (0.1 = +10 %) and every test two-sided; the power calculation is checked against the readout
by simulation (tests/campaigns/measure/test_power.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from campaigns.measure.power import (
    _check_block_days,
    _check_lift,
    _check_positive,
    _check_power_target,
    _check_probability,
    _shift_for_power,
    _t_power,
)

MIN_PRE_BLOCKS = 3
DESIGN_POWER = 0.8  # the power GeoPower.mde is quoted at
PRE_NOT_2D = "pre: must be a regions × days array; got shape {shape}"
PRE_TOO_FEW_REGIONS = "pre: needs at least 2 regions (treated and control); got {regions}"
PRE_NOT_FINITE = "pre: contains non-finite values (NaN or infinity); fill or drop them first"
PRE_TOO_SHORT = (
    "pre: needs at least {needed} days ({blocks} blocks of {block_days} days) to estimate the variance; got {days}"
)
PRE_NO_SALES = "pre: the {group} regions have no pre-period sales to compare against"
PRE_ZERO_VARIANCE = (
    "pre: the treated − scaled control difference has zero variance over the pre-period, so power cannot be "
    "computed; check the data is not a copy or a perfect multiple across regions"
)
TEST_SHAPE = "test: must have the same regions as pre (shape {pre} vs {test})"
TEST_NOT_FINITE = "test: contains non-finite values (NaN or infinity); fill or drop them first"
TEST_TOO_SHORT = "test: needs at least one block of {block_days} days; got {days}"
TREATED_EMPTY = "treated: names no region"
TREATED_NOT_INTEGERS = "treated: must be region indices (integers); got {value!r}"
TREATED_OUT_OF_RANGE = "treated: region index {index} is out of range for {regions} regions (0 to {last})"
TREATED_DUPLICATE = "treated: region index {index} is listed twice"
TREATED_ALL = "treated: all {regions} regions are treated, which leaves no control"
TEST_DAYS_SHORT = "test_days: must be at least block_days ({block_days}); got {value!r}"
DAYS_SHORT = "days: every duration must be at least block_days ({block_days}); got {value!r}"
MAX_DAYS_SHORT = "max_days: must be at least block_days ({block_days}); got {value!r}"
BLOCKS_PRE = "blocks_pre: must be at least {minimum}, as in the pre-period did_lift accepts; got {value!r}"


def _treated_mask(treated: Sequence[int] | np.ndarray, regions: int) -> np.ndarray:
    indices = np.asarray(treated)
    if indices.size == 0:
        raise ValueError(TREATED_EMPTY)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(TREATED_NOT_INTEGERS.format(value=treated))
    for index in indices:
        if not 0 <= index < regions:  # negative indices would silently count from the end
            raise ValueError(TREATED_OUT_OF_RANGE.format(index=int(index), regions=regions, last=regions - 1))
    unique, counts = np.unique(indices, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(TREATED_DUPLICATE.format(index=int(unique[counts > 1][0])))
    if unique.size == regions:
        raise ValueError(TREATED_ALL.format(regions=regions))
    mask = np.zeros(regions, dtype=bool)
    mask[indices] = True
    return mask


def _check_pre(pre: np.ndarray, block_days: int, *, batched: bool = False) -> np.ndarray:
    _check_block_days(block_days)
    pre = np.asarray(pre, dtype=float)
    if pre.ndim < 2 or (pre.ndim > 2 and not batched):
        raise ValueError(PRE_NOT_2D.format(shape=pre.shape))
    if pre.shape[-2] < 2:
        raise ValueError(PRE_TOO_FEW_REGIONS.format(regions=pre.shape[-2]))
    if not np.all(np.isfinite(pre)):
        raise ValueError(PRE_NOT_FINITE)
    needed = MIN_PRE_BLOCKS * block_days
    if pre.shape[-1] < needed:
        raise ValueError(
            PRE_TOO_SHORT.format(needed=needed, blocks=MIN_PRE_BLOCKS, block_days=block_days, days=pre.shape[-1])
        )
    return pre


def _group_blocks(sales: np.ndarray, mask: np.ndarray, block_days: int, *, keep_last: bool) -> np.ndarray:
    """Treated and control sales summed per block: shape (..., 2, blocks).

    A partial block is dropped: the oldest days of the pre-period (the latest are the most like the test), the
    last days of the test.
    """
    blocks = sales.shape[-1] // block_days
    days = slice(sales.shape[-1] - blocks * block_days, None) if keep_last else slice(0, blocks * block_days)
    groups = np.stack([sales[..., mask, days].sum(axis=-2), sales[..., ~mask, days].sum(axis=-2)], axis=-2)
    return groups.reshape(*groups.shape[:-1], blocks, block_days).sum(axis=-1)


@dataclass(frozen=True)
class _PrePeriod:
    """What the geo calculations need from the pre-period, per batch item (arrays) or for one panel (floats)."""

    beta: np.ndarray  # scales control sales to treated: treated pre total / control pre total
    sigma: np.ndarray  # sd of the block differences treated − beta·control (ddof=1)
    treated_per_block: np.ndarray  # treated pre sales per block
    treated_share: np.ndarray  # treated share of all pre sales
    blocks: int


def _pre_period(pre: np.ndarray, mask: np.ndarray, block_days: int) -> _PrePeriod:
    treated, control = np.moveaxis(_group_blocks(pre, mask, block_days, keep_last=True), -2, 0)
    treated_total, control_total = treated.sum(axis=-1), control.sum(axis=-1)
    for group, total in (("treated", treated_total), ("control", control_total)):
        if np.any(total <= 0):
            raise ValueError(PRE_NO_SALES.format(group=group))
    beta = treated_total / control_total
    sigma = (treated - beta[..., None] * control).std(axis=-1, ddof=1)
    treated_per_block = treated_total / treated.shape[-1]
    if np.any(sigma <= 1e-12 * np.abs(treated_per_block)):  # float noise of a perfect multiple, not variance
        raise ValueError(PRE_ZERO_VARIANCE)
    share = treated_total / (treated_total + control_total)
    return _PrePeriod(beta, sigma, treated_per_block, share, treated.shape[-1])


def _did_factor(blocks_test: int, blocks_pre: int) -> float:
    # sd of (sum of m test differences − m × mean of n pre differences), in units of σ·m
    return math.sqrt(1.0 / blocks_test + 1.0 / blocks_pre)


def did_lift(
    pre: np.ndarray, test: np.ndarray, *, treated: Sequence[int] | np.ndarray, block_days: int = 7
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """The geo readout: relative lift of the treated regions and its standard error, by difference-in-differences.

    `pre` and `test` are regions × days (or batches: ... × regions × days, for simulation). Sales are summed per
    group into blocks of `block_days` (a whole week absorbs the weekly pattern and most short autocorrelation).
    With β = treated pre total / control pre total, the block difference d_b = treated_b − β·control_b has mean
    zero over the pre-period by construction, so the incremental sales over the m test blocks are
    Δ̂ = Σ_test d_b − m·mean_pre(d_b) = Σ_test d_b, the lift is Δ̂ / (β × control test sales) (the treated
    counterfactual), and its standard error is σ̂·m·sqrt(1/m + 1/n) over that same counterfactual (see
    `geo_power`). Compare `lift / se` with Student's t on blocks_pre − 1 degrees of freedom: `did_significant`.
    """
    pre = _check_pre(pre, block_days, batched=True)
    test = np.asarray(test, dtype=float)
    if test.shape[:-1] != pre.shape[:-1]:
        raise ValueError(TEST_SHAPE.format(pre=pre.shape, test=test.shape))
    if test.shape[-1] < block_days:
        raise ValueError(TEST_TOO_SHORT.format(block_days=block_days, days=test.shape[-1]))
    if not np.all(np.isfinite(test)):
        raise ValueError(TEST_NOT_FINITE)
    mask = _treated_mask(treated, pre.shape[-2])
    period = _pre_period(pre, mask, block_days)
    treated_test, control_test = np.moveaxis(_group_blocks(test, mask, block_days, keep_last=False), -2, 0)
    counterfactual = period.beta * control_test.sum(axis=-1)
    incremental = treated_test.sum(axis=-1) - counterfactual
    blocks_test = treated_test.shape[-1]
    se = period.sigma * blocks_test * _did_factor(blocks_test, period.blocks) / counterfactual
    lift = incremental / counterfactual
    return (float(lift), float(se)) if lift.ndim == 0 else (lift, se)


def did_significant(
    lift: float | np.ndarray, se: float | np.ndarray, *, blocks_pre: int, alpha: float = 0.05
) -> bool | np.ndarray:
    """The geo readout's decision: |lift / se| beyond Student's t on blocks_pre − 1 df (σ is estimated from them)."""
    _check_probability("alpha", alpha)
    if blocks_pre < MIN_PRE_BLOCKS:
        raise ValueError(BLOCKS_PRE.format(minimum=MIN_PRE_BLOCKS, value=blocks_pre))
    rejects = np.abs(np.asarray(lift) / np.asarray(se)) > stats.t.isf(alpha / 2, blocks_pre - 1)
    return bool(rejects) if rejects.ndim == 0 else rejects


def did_interval(
    lift: float | np.ndarray, se: float | np.ndarray, *, blocks_pre: int, level: float = 0.95
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """The readout's confidence interval for the lift: lift ± t(blocks_pre − 1) · se, the interval that
    `did_significant` inverts (it excludes 0 exactly when the readout is significant at 1 − level)."""
    _check_probability("level", level)
    if blocks_pre < MIN_PRE_BLOCKS:
        raise ValueError(BLOCKS_PRE.format(minimum=MIN_PRE_BLOCKS, value=blocks_pre))
    half = stats.t.isf((1 - level) / 2, blocks_pre - 1) * np.asarray(se)
    low, high = np.asarray(lift) - half, np.asarray(lift) + half
    return (float(low), float(high)) if low.ndim == 0 else (low, high)


# --- Geo: power, MDE, duration -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeoPower:
    """A geo test's power for one lift, with what the planner shows next to it."""

    power: float
    mde: float  # relative lift detected with 80 % power at the same alpha and duration
    se: float  # standard error of the relative lift
    blocks_pre: int
    blocks_test: int
    treated_share: float  # treated regions' share of pre-period sales
    expected_incremental_sales: float  # for the given lift, over the whole test


@dataclass(frozen=True)
class _GeoDesign:
    sigma: float
    treated_per_block: float
    treated_share: float
    blocks_pre: int

    def se(self, blocks_test: int) -> float:
        return self.sigma * _did_factor(blocks_test, self.blocks_pre) / self.treated_per_block

    def mde(self, blocks_test: int, *, power: float, alpha: float) -> float:
        return _shift_for_power(float(self.blocks_pre - 1), alpha, power) * self.se(blocks_test)


def _geo_design(pre: np.ndarray, treated: Sequence[int] | np.ndarray, block_days: int) -> _GeoDesign:
    pre = _check_pre(pre, block_days)
    period = _pre_period(pre, _treated_mask(treated, pre.shape[0]), block_days)
    return _GeoDesign(float(period.sigma), float(period.treated_per_block), float(period.treated_share), period.blocks)


def _test_blocks(test_days: int, block_days: int, *, name: str = "test_days") -> int:
    if test_days < block_days:
        message = TEST_DAYS_SHORT if name == "test_days" else DAYS_SHORT
        raise ValueError(message.format(block_days=block_days, value=test_days))
    return int(test_days) // block_days


def geo_power(
    pre: np.ndarray,
    *,
    treated: Sequence[int] | np.ndarray,
    lift: float,
    test_days: int,
    alpha: float = 0.05,
    block_days: int = 7,
) -> GeoPower:
    """Power of the geo readout (`did_lift` + `did_significant`) to see `lift` on the `treated` regions.

    `pre` is regions × days of daily sales before the test; the latest whole blocks are used, and a test of
    `test_days` counts its whole blocks (m). Derivation: the block differences d_b = treated_b − β·control_b are
    taken as independent with sd σ (estimated from the n pre blocks, ddof=1). The DiD estimate of incremental sales
    Δ̂ = Σ_test d_b − m·mean_pre(d_b) has variance m·σ² + m²·σ²/n, so sd(Δ̂) = σ·m·sqrt(1/m + 1/n). The lift is
    relative to the treated regions' expected test sales, treated pre sales per block × m, so the lift's standard
    error is se = σ·sqrt(1/m + 1/n) / (treated pre sales per block).

    Because σ is estimated from only n blocks, the readout compares Δ̂ / sd(Δ̂) with Student's t on n − 1 df and
    the power is the non-central t's: P(|T| > t_{1−α/2, n−1}) with T ~ t(n − 1, lift / se). As n grows this becomes
    Φ(|lift|/se − z_{1−α/2}) + Φ(−|lift|/se − z_{1−α/2}); with 12 weekly blocks the normal version would promise
    power the readout does not deliver.

    Blocks are taken as independent. Regional noise that persists from week to week breaks that a little: in
    simulation, daily AR(1) regional noise of 0.1 gives the readout a 5.4 % A/A rejection rate, 0.3 gives 6.2 %.
    """
    _check_lift(lift)
    _check_probability("alpha", alpha)
    design = _geo_design(pre, treated, block_days)
    blocks_test = _test_blocks(test_days, block_days)
    se = design.se(blocks_test)
    return GeoPower(
        power=_t_power(lift / se, design.blocks_pre - 1, alpha),
        mde=design.mde(blocks_test, power=DESIGN_POWER, alpha=alpha),
        se=se,
        blocks_pre=design.blocks_pre,
        blocks_test=blocks_test,
        treated_share=design.treated_share,
        expected_incremental_sales=lift * design.treated_per_block * blocks_test,
    )


def geo_mde(
    pre: np.ndarray,
    *,
    treated: Sequence[int] | np.ndarray,
    test_days: int,
    power: float = 0.8,
    alpha: float = 0.05,
    block_days: int = 7,
) -> float:
    """The smallest relative lift a geo test of `test_days` detects with `power` (see `geo_power`)."""
    _check_power_target(power, alpha)
    design = _geo_design(pre, treated, block_days)
    return design.mde(_test_blocks(test_days, block_days), power=power, alpha=alpha)


def _max_blocks(max_days: int, block_days: int) -> int:
    if max_days < block_days:
        raise ValueError(MAX_DAYS_SHORT.format(block_days=block_days, value=max_days))
    return int(max_days) // block_days


def geo_duration(
    pre: np.ndarray,
    *,
    treated: Sequence[int] | np.ndarray,
    mde: float,
    power: float = 0.8,
    alpha: float = 0.05,
    max_days: int = 180,
    block_days: int = 7,
) -> int | None:
    """The shortest test, in whole blocks of days, whose MDE is at most `mde`; None when none up to `max_days` is.

    A longer test only shrinks the 1/m part of the variance: the 1/n part of the pre-period stays, so some targets
    are out of reach at any duration.
    """
    _check_positive("mde", mde)
    _check_power_target(power, alpha)
    design = _geo_design(pre, treated, block_days)
    for blocks_test in range(1, _max_blocks(max_days, block_days) + 1):
        if design.mde(blocks_test, power=power, alpha=alpha) <= mde:
            return blocks_test * block_days
    return None


def geo_mde_for_budget(
    pre: np.ndarray,
    *,
    treated: Sequence[int] | np.ndarray,
    budget: float,
    iroas: float,
    power: float = 0.8,
    alpha: float = 0.05,
    block_days: int = 7,
    max_days: int = 180,
) -> list[tuple[int, float, bool]]:
    """For each test length in whole blocks up to `max_days`: (days, MDE, whether the budget can buy the MDE).

    The whole budget is spent over the test, spread evenly, and returns `iroas` incremental sales per unit spent
    whatever the duration, so the lift it buys is budget·iroas / (treated expected sales over the test): a longer
    test lowers the MDE but also dilutes the lift. Saturation and carry-over after the test are not modelled.
    """
    _check_positive("budget", budget)
    _check_positive("iroas", iroas)
    _check_power_target(power, alpha)
    design = _geo_design(pre, treated, block_days)
    rows = []
    for blocks_test in range(1, _max_blocks(max_days, block_days) + 1):
        mde = design.mde(blocks_test, power=power, alpha=alpha)
        bought = budget * iroas / (design.treated_per_block * blocks_test)
        rows.append((blocks_test * block_days, mde, bought >= mde))
    return rows


# --- Curves --------------------------------------------------------------------------------------------------------


def duration_curve(
    pre: np.ndarray,
    *,
    treated: Sequence[int] | np.ndarray,
    days: Sequence[int],
    power: float = 0.8,
    alpha: float = 0.05,
    block_days: int = 7,
) -> list[tuple[int, float]]:
    """(days, MDE) for each test length in `days` (partial blocks do not count, as in `geo_mde`)."""
    _check_power_target(power, alpha)
    design = _geo_design(pre, treated, block_days)
    return [
        (int(length), design.mde(_test_blocks(length, block_days, name="days"), power=power, alpha=alpha))
        for length in days
    ]
