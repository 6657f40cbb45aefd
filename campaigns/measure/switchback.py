"""Switchback tests: one network's ads switched ON and OFF in randomized blocks of days. The schedule, its power, MDE
and duration from pre-period daily sales, and the block-level readout. Pure functions: no Django, no database.

The block is the unit: after each switch the first `washout_days` of a block are dropped (carry-over from the state
before), the rest are averaged into one block mean, and the lift is mean of ON block means / mean of OFF block means
− 1. Every lift is relative (0.1 = +10 %) and every test two-sided; the power calculation is checked against the
readout by simulation (tests/campaigns/measure/test_switchback.py).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from campaigns.measure.power import (
    LIFT_ZERO,
    _check_block_days,
    _check_lift,
    _check_power_target,
    _check_probability,
    _shift_for_power,
    _t_power,
)

MIN_TEST_BLOCKS = 4  # two per arm, and n_blocks − 2 ≥ 2 degrees of freedom for the interval
MIN_PRE_BLOCKS = 8
DESIGN_POWER = 0.8  # the power SwitchbackPower.mde is quoted at
START_NOT_DATE = "start: must be a date (not a datetime); got {value!r}"
WASHOUT_DAYS = "washout_days: must be a whole number of days from 0 to block_days − 1 ({last}); got {value!r}"
DAYS_SHORT = "{name}: needs at least {needed} days ({blocks} blocks of {block_days} days); got {value!r}"
SEED = "seed: must be a non-negative whole number; got {value!r}"
NOT_1D = "{name}: must be a 1-D array of daily sales; got shape {shape}"
NOT_FINITE = "{name}: contains non-finite values (NaN or infinity); fill or drop them first"
NEGATIVE = "{name}: contains negative sales"
PRE_NO_SALES = "pre: the analysed days have no sales, so a relative lift has nothing to compare against"
PRE_ZERO_VARIANCE = (
    "pre: the analysed-day block means have zero variance over the pre-period, so power cannot be computed; "
    "check the data is not constant or a pure weekly pattern averaged out by the blocks"
)
NOT_REACHABLE = (
    "lift: {lift} cannot be detected with power {power} within max_days ({max_days}); the best MDE reachable is "
    "{mde:.4g} (at {days} days)"
)
DAILY_NO_SALES = "daily: the {arm} blocks have no analysed sales, so the relative lift has no interval"
DAY_SHAPE = "{name}: must have one value per day of daily ({days}); got shape {shape}"
BLOCK_ID_NOT_INTEGERS = "block_id: must be integers; got dtype {dtype}"
ON_MIXED = "on: block {block} is ON on some analysed days and OFF on others"
TOO_FEW_BLOCKS = "on: needs at least 2 analysed blocks in each arm; got {on} ON and {off} OFF"
DATES_NOT_DATES = "dates: must be dates; got {value!r}"
DRAWS = "draws: must be a whole number, at least 1; got {value!r}"


def _is_whole(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def _check_washout(washout_days: int, block_days: int) -> None:
    _check_block_days(block_days)
    if not _is_whole(washout_days) or not 0 <= washout_days < block_days:
        raise ValueError(WASHOUT_DAYS.format(last=block_days - 1, value=washout_days))


def _check_sales(name: str, sales: np.ndarray) -> np.ndarray:
    sales = np.asarray(sales, dtype=float)
    if sales.ndim != 1:
        raise ValueError(NOT_1D.format(name=name, shape=sales.shape))
    if not np.all(np.isfinite(sales)):
        raise ValueError(NOT_FINITE.format(name=name))
    if np.any(sales < 0):
        raise ValueError(NEGATIVE.format(name=name))
    return sales


def _whole_blocks(name: str, days: int, block_days: int) -> int:
    """Whole blocks in `days` (a partial block at the end does not count); at least MIN_TEST_BLOCKS."""
    needed = MIN_TEST_BLOCKS * block_days
    if not _is_whole(days) or days < needed:
        raise ValueError(
            DAYS_SHORT.format(name=name, needed=needed, blocks=MIN_TEST_BLOCKS, block_days=block_days, value=days)
        )
    return int(days) // block_days


# --- Schedule ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of the schedule; `end` is its last day (inclusive), analysis starts at `analysed_from`."""

    start: datetime.date
    end: datetime.date
    on: bool
    analysed_from: datetime.date


def switchback_schedule(
    start: datetime.date, test_days: int, block_days: int, washout_days: int, seed: int
) -> list[Block]:
    """Whole blocks of `block_days` from `start`, ON or OFF by complete randomization with equal counts.

    With an odd number of blocks the extra one is ON or OFF at random. A partial block at the end of `test_days` is
    not scheduled. The same seed gives the same schedule (numpy's default Generator).
    """
    if not isinstance(start, datetime.date) or isinstance(start, datetime.datetime):
        raise ValueError(START_NOT_DATE.format(value=start))
    _check_washout(washout_days, block_days)
    blocks = _whole_blocks("test_days", test_days, block_days)
    if not _is_whole(seed) or seed < 0:
        raise ValueError(SEED.format(value=seed))
    rng = np.random.default_rng(seed)
    labels = [True] * (blocks // 2) + [False] * (blocks // 2) + ([bool(rng.random() < 0.5)] if blocks % 2 else [])
    labels = rng.permutation(labels)
    first = [start + datetime.timedelta(days=i * block_days) for i in range(blocks)]
    return [
        Block(day, day + datetime.timedelta(days=block_days - 1), bool(on), day + datetime.timedelta(days=washout_days))
        for day, on in zip(first, labels, strict=True)
    ]


def schedule_days(
    schedule: Sequence[Block], dates: Sequence[datetime.date]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(on, analysed, block_id) per date, as `switchback_readout` takes them; a date outside the schedule is OFF,
    not analysed and in block -1."""
    for value in dates:
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise ValueError(DATES_NOT_DATES.format(value=value))
    days = np.array([value.toordinal() for value in dates], dtype=np.int64)
    on, analysed = np.zeros(days.size, dtype=bool), np.zeros(days.size, dtype=bool)
    block_id = np.full(days.size, -1, dtype=np.int64)
    for i, block in enumerate(schedule):
        inside = (days >= block.start.toordinal()) & (days <= block.end.toordinal())
        block_id[inside], on[inside] = i, block.on
        analysed |= inside & (days >= block.analysed_from.toordinal())
    return on, analysed, block_id


# --- Power, MDE, duration ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwitchbackPower:
    """A switchback test's power for one lift, with what the planner shows next to it."""

    power: float
    mde: float  # relative lift detected with 80 % power at the same alpha and duration
    n_blocks: int
    n_on: int  # with an odd number of blocks the extra one goes either way; the variance is the same
    n_off: int
    analysed_days: int
    block_sd: float  # sd of an analysed block mean relative to the mean, within a window as long as the test


def _semivariogram(relative: np.ndarray) -> np.ndarray:
    """v[k − 1] = ½ · mean of (m_i − m_{i+k})² over block means k apart, for k = 1 … P // 2 (longer lags have
    too few pairs to trust), from running sums of squares and the autocorrelation: O(P) memory."""
    centred = relative - relative.mean()  # the differences are the same; the sums cancel far less
    size, lags = centred.size, np.arange(1, centred.size // 2 + 1)
    squares = np.cumsum(centred**2)
    head, tail = squares[size - lags - 1], squares[-1] - squares[lags - 1]
    cross = np.correlate(centred, centred, mode="full")[size - 1 + lags]
    return 0.5 * (head + tail - 2.0 * cross) / (size - lags)


@dataclass(frozen=True)
class _Design:
    semivariogram: np.ndarray

    def block_sd(self, n_blocks: int) -> float:
        """sqrt of E[sample variance (ddof=1) of n consecutive block means] = 2/(n(n−1)) · Σ_k (n − k) · v(k).

        That window variance is what the readout's within-arm variances estimate under randomization: adjacent
        blocks share autocorrelated noise and a slow trend, so it is below the pre-period's overall variance for
        short tests and grows with the test. Lags beyond the variogram's reuse its last value.
        """
        lags = np.arange(1, n_blocks)
        v = self.semivariogram[np.minimum(lags, self.semivariogram.size) - 1]
        return math.sqrt(2.0 / (n_blocks * (n_blocks - 1)) * float(np.sum((n_blocks - lags) * v)))

    def se(self, n_blocks: int) -> float:
        """Standard error of log(1 + lift): relative block sd × sqrt(1/n_on + 1/n_off) (the delta method)."""
        n_on = n_blocks // 2
        return self.block_sd(n_blocks) * math.sqrt(1.0 / n_on + 1.0 / (n_blocks - n_on))

    def power(self, lift: float, n_blocks: int, alpha: float) -> float:
        return _t_power(math.log1p(lift) / self.se(n_blocks), n_blocks - 2, alpha)

    def mde(self, n_blocks: int, *, power: float, alpha: float) -> float:
        return math.expm1(_shift_for_power(float(n_blocks - 2), alpha, power) * self.se(n_blocks))


def _design(pre: np.ndarray, block_days: int, washout_days: int) -> _Design:
    _check_washout(washout_days, block_days)
    pre = _check_sales("pre", pre)
    blocks, needed = pre.size // block_days, MIN_PRE_BLOCKS * block_days
    if blocks < MIN_PRE_BLOCKS:
        raise ValueError(
            DAYS_SHORT.format(name="pre", needed=needed, blocks=MIN_PRE_BLOCKS, block_days=block_days, value=pre.size)
        )
    # the latest whole blocks (the most like the test), each cut like a test block: washout days dropped
    means = pre[pre.size - blocks * block_days :].reshape(blocks, block_days)[:, washout_days:].mean(axis=1)
    if means.mean() <= 0:
        raise ValueError(PRE_NO_SALES)
    semivariogram = _semivariogram(means / means.mean())
    if semivariogram.max() <= 1e-24:  # float noise of equal block means, not variance
        raise ValueError(PRE_ZERO_VARIANCE)
    return _Design(semivariogram)


def switchback_power(
    pre: np.ndarray, *, test_days: int, block_days: int, washout_days: int, lift: float, alpha: float = 0.05
) -> SwitchbackPower:
    """Power of the readout's t interval (`switchback_readout`) to see `lift` in a test of `test_days`.

    `pre` is the network's daily sales before the test. Its latest whole blocks are cut like the test's, each
    analysed-day mean is divided by their overall mean, and the expected within-window variance σ² of n such
    consecutive block means is taken from their variogram (see `_Design.block_sd`). The readout's log(1 + lift)
    then has standard error se = σ·sqrt(1/n_on + 1/n_off), and the power is the non-central t's on n − 2 df:
    P(|T| > t_{1−α/2}) with T ~ t(n − 2, log(1 + lift) / se).
    """
    _check_lift(lift)
    _check_probability("alpha", alpha)
    design = _design(pre, block_days, washout_days)
    n_blocks = _whole_blocks("test_days", test_days, block_days)
    return SwitchbackPower(
        power=design.power(lift, n_blocks, alpha),
        mde=design.mde(n_blocks, power=DESIGN_POWER, alpha=alpha),
        n_blocks=n_blocks,
        n_on=n_blocks // 2,
        n_off=n_blocks - n_blocks // 2,
        analysed_days=n_blocks * (block_days - washout_days),
        block_sd=design.block_sd(n_blocks),
    )


def switchback_mde(
    pre: np.ndarray, *, test_days: int, block_days: int, washout_days: int, power: float = 0.8, alpha: float = 0.05
) -> float:
    """The smallest positive relative lift a switchback test of `test_days` detects with `power`."""
    _check_power_target(power, alpha)
    design = _design(pre, block_days, washout_days)
    return design.mde(_whole_blocks("test_days", test_days, block_days), power=power, alpha=alpha)


def switchback_duration(
    pre: np.ndarray,
    *,
    lift: float,
    block_days: int,
    washout_days: int,
    power: float = 0.8,
    alpha: float = 0.05,
    max_days: int = 364,
) -> int:
    """The shortest test, in whole blocks, whose power for `lift` reaches `power`; ValueError when none up to
    `max_days` does. Scanned block by block: the trend in the block sd means power need not rise with every block.
    """
    _check_lift(lift)
    if lift == 0:
        raise ValueError(LIFT_ZERO)
    _check_power_target(power, alpha)
    design = _design(pre, block_days, washout_days)
    last = _whole_blocks("max_days", max_days, block_days)
    for n_blocks in range(MIN_TEST_BLOCKS, last + 1):
        if design.power(lift, n_blocks, alpha) >= power:
            return n_blocks * block_days
    mdes = [design.mde(n, power=power, alpha=alpha) for n in range(MIN_TEST_BLOCKS, last + 1)]
    best = int(np.argmin(mdes))
    days = (MIN_TEST_BLOCKS + best) * block_days
    raise ValueError(NOT_REACHABLE.format(lift=lift, power=power, max_days=max_days, mde=mdes[best], days=days))


# --- Readout -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwitchbackReadout:
    """What a finished switchback test says; each block counts once, whatever its number of analysed days."""

    lift: float  # mean of ON block means / mean of OFF block means − 1
    low: float  # the (1 − alpha) interval for the lift
    high: float
    p_value: float  # randomization inference: ON/OFF labels re-drawn over the blocks
    se: float  # standard error of log(1 + lift)
    df: int  # n_blocks − 2
    mean_on: float  # analysed daily sales of an ON block, averaged over blocks
    mean_off: float
    incremental_sales: float  # ON analysed sales − the same days at mean_off
    days_analysed: int
    n_on: int
    n_off: int


def _readout_blocks(
    daily: np.ndarray, on: np.ndarray, analysed: np.ndarray, block_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(daily as floats, analysed-day mean per block, whether each block is ON) for the blocks with analysed days."""
    daily = _check_sales("daily", daily)
    arrays = {"on": np.asarray(on), "analysed": np.asarray(analysed), "block_id": np.asarray(block_id)}
    for name, array in arrays.items():
        if array.shape != daily.shape:
            raise ValueError(DAY_SHAPE.format(name=name, days=daily.size, shape=array.shape))
    if not np.issubdtype(arrays["block_id"].dtype, np.integer):
        raise ValueError(BLOCK_ID_NOT_INTEGERS.format(dtype=arrays["block_id"].dtype))
    kept = arrays["analysed"].astype(bool)
    ids, block = np.unique(arrays["block_id"][kept], return_inverse=True)
    days = np.bincount(block, minlength=ids.size)
    on_days = np.bincount(block, weights=arrays["on"].astype(bool)[kept], minlength=ids.size)
    mixed = (on_days > 0) & (on_days < days)
    if np.any(mixed):
        raise ValueError(ON_MIXED.format(block=int(ids[mixed][0])))
    means = np.bincount(block, weights=daily[kept], minlength=ids.size) / days
    return daily, means, on_days > 0


def _log_ratios(labels: np.ndarray, means: np.ndarray) -> np.ndarray:
    """log(mean of ON block means / mean of OFF block means) for each row of ON/OFF labels."""
    on_mean = (labels @ means) / labels.sum(axis=-1)
    off_mean = (~labels @ means) / (~labels).sum(axis=-1)
    with np.errstate(divide="ignore"):  # a re-drawn arm of zero-sales blocks is simply extreme
        return np.log(on_mean) - np.log(off_mean)


def switchback_readout(
    daily: np.ndarray,
    on: np.ndarray,
    analysed: np.ndarray,
    block_id: np.ndarray,
    *,
    alpha: float = 0.05,
    draws: int = 2000,
    seed: int = 0,
) -> SwitchbackReadout:
    """Relative lift of ON over OFF blocks, its (1 − alpha) interval and randomization p-value.

    Per day: sales, whether ads were ON, whether the day is analysed (not in a washout) and its block
    (`schedule_days` builds the last three from a schedule). The interval is the delta method on the log ratio:
    se² = s²_on / (n_on·mean_on²) + s²_off / (n_off·mean_off²) from the block means (Welch-type, so it needs no
    model of the days within a block), with Student's t on n_blocks − 2 df, mapped back by exp(·) − 1. The p-value
    re-draws the ON/OFF labels over the blocks `draws` times, keeping n_on (complete randomization as scheduled,
    given its count): p = (1 + #{|stat*| ≥ |stat|}) / (1 + draws), stat the log ratio; it is exact under no effect.
    """
    _check_probability("alpha", alpha)
    if not _is_whole(draws) or draws < 1:
        raise ValueError(DRAWS.format(value=draws))
    if not _is_whole(seed) or seed < 0:
        raise ValueError(SEED.format(value=seed))
    daily, means, on_block = _readout_blocks(daily, on, analysed, block_id)
    n_on, n_off = int(on_block.sum()), int((~on_block).sum())
    if n_on < 2 or n_off < 2:
        raise ValueError(TOO_FEW_BLOCKS.format(on=n_on, off=n_off))
    mean_on, mean_off = means[on_block].mean(), means[~on_block].mean()
    for arm, mean in (("ON", mean_on), ("OFF", mean_off)):
        if mean <= 0:
            raise ValueError(DAILY_NO_SALES.format(arm=arm))
    se = math.sqrt(
        means[on_block].var(ddof=1) / (n_on * mean_on**2) + means[~on_block].var(ddof=1) / (n_off * mean_off**2)
    )
    df = n_on + n_off - 2
    log_ratio = math.log(mean_on / mean_off)
    half = stats.t.isf(alpha / 2, df) * se
    rng = np.random.default_rng(seed)
    redrawn = _log_ratios(rng.permuted(np.tile(on_block, (draws, 1)), axis=1), means)
    # ties (the same labels drawn again) must count: compare with a tolerance for the summation order
    extreme = np.abs(redrawn) >= abs(log_ratio) - 1e-12 * max(1.0, abs(log_ratio))
    kept = np.asarray(analysed, dtype=bool)
    on_days = kept & np.asarray(on, dtype=bool)
    return SwitchbackReadout(
        lift=math.expm1(log_ratio),
        low=math.expm1(log_ratio - half),
        high=math.expm1(log_ratio + half),
        p_value=(1.0 + int(extreme.sum())) / (1.0 + draws),
        se=se,
        df=df,
        mean_on=float(mean_on),
        mean_off=float(mean_off),
        incremental_sales=float(daily[on_days].sum() - on_days.sum() * mean_off),
        days_analysed=int(kept.sum()),
        n_on=n_on,
        n_off=n_off,
    )
