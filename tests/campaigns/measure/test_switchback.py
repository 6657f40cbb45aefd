"""Switchback tests: the schedule is balanced, reproducible and skips the washout; the readout is honest by simulation
(interval coverage, A/A false positives, power at the planned MDE); power, MDE and duration agree with each other and
with the normal approximation; every bad input names its argument."""

import datetime
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import signal, stats

from campaigns.measure.switchback import (
    schedule_days,
    switchback_duration,
    switchback_mde,
    switchback_power,
    switchback_readout,
    switchback_schedule,
)

START = datetime.date(2025, 3, 3)
LEVEL, PHI, NOISE_SD, TREND = 10_000.0, 0.5, 0.08, 0.10  # daily sales, AR(1) noise on the log scale, +10 %/year
WEEKLY = np.array([-0.06, -0.08, -0.05, 0.0, 0.04, 0.10, 0.05])  # Monday to Sunday, within ±10 %
PRE_DAYS = 364
SIMULATIONS, DRAWS = 2_000, 500
DESIGNS = {"3-day blocks, odd count": (3, 1, 63), "weekly blocks": (7, 2, 84)}  # block_days, washout_days, test_days


def daily_sales(rng: np.random.Generator, sims: int, days: int, *, phi: float = PHI) -> np.ndarray:
    """sims × days of realistic daily sales: a slow trend, a weekly pattern and AR(1) noise (stationary sd 8 %)."""
    shocks = rng.normal(0.0, NOISE_SD * math.sqrt(1.0 - phi**2), (sims, days))
    shocks[:, 0] = rng.normal(0.0, NOISE_SD, sims)  # start in the stationary distribution
    noise = signal.lfilter([1.0], [1.0, -phi], shocks, axis=1)
    day = np.arange(days)
    return LEVEL * np.exp(TREND * day / 365.0 + noise) * (1.0 + WEEKLY[(START.weekday() + day) % 7])


def _dates(days: int) -> list[datetime.date]:
    return [START + datetime.timedelta(days=i) for i in range(days)]


def _effect(schedule, block_days: int, test_days: int) -> np.ndarray:
    """Per test day, the share of the lift it gets: all of it on analysed ON days and, in a washout, what the
    previous block left behind (ads keep working for a while after they stop; just switched on, not yet)."""
    on, analysed, block_id = schedule_days(schedule, _dates(test_days))
    before = np.r_[False, [block.on for block in schedule]][:-1]
    carried = before[np.maximum(block_id, 0)] & (block_id >= 0) & ~analysed
    return np.where(analysed, on, carried).astype(float)


@pytest.fixture(scope="module", params=list(DESIGNS), ids=list(DESIGNS))
def simulation(request):
    """Replicate tests of one design: each plans its MDE from its own pre-period, is scheduled with its own seed, and
    is read out with that true lift and as an A/A test (lift 0)."""
    block_days, washout_days, test_days = DESIGNS[request.param]
    rng = np.random.default_rng(20_250_303)
    sales = daily_sales(rng, SIMULATIONS, PRE_DAYS + test_days)
    rows = []
    for sim in range(SIMULATIONS):
        pre, test = sales[sim, :PRE_DAYS], sales[sim, PRE_DAYS:]
        mde = switchback_mde(pre, test_days=test_days, block_days=block_days, washout_days=washout_days)
        schedule = switchback_schedule(START, test_days, block_days, washout_days, seed=sim)
        on, analysed, block_id = schedule_days(schedule, _dates(test_days))
        lifted = test * (1.0 + mde * _effect(schedule, block_days, test_days))
        read = switchback_readout(lifted, on, analysed, block_id, draws=DRAWS, seed=sim)
        aa = switchback_readout(test, on, analysed, block_id, draws=DRAWS, seed=sim)
        blind = switchback_readout(lifted, on, block_id >= 0, block_id, draws=1, seed=sim)  # washout kept in
        rows.append((mde, read.lift, read.low, read.high, read.p_value, aa.low, aa.high, aa.p_value, blind.lift))
    names = ("mde", "lift", "low", "high", "p", "aa_low", "aa_high", "aa_p", "blind_lift")
    return dict(zip(names, np.array(rows).T, strict=True))


# --- Honest by simulation ------------------------------------------------------------------------------------------


def test_the_95_percent_interval_covers_the_true_lift_93_to_97_percent_of_the_time(simulation):
    # given replicate tests with a known true lift (each one's planned MDE) and A/A tests (true lift 0)

    # when each is read out
    covered = (simulation["low"] <= simulation["mde"]) & (simulation["mde"] <= simulation["high"])
    aa_covered = (simulation["aa_low"] <= 0.0) & (0.0 <= simulation["aa_high"])

    # then the interval holds the truth about 95 % of the time (binomial sd ≈ 0.5 point at 2 000 runs)
    assert 0.93 <= covered.mean() <= 0.97
    assert 0.93 <= aa_covered.mean() <= 0.97


def test_an_aa_test_rejects_about_alpha_of_the_time_by_interval_and_by_randomization(simulation):
    # given A/A tests: the ads do nothing

    # when the t interval and the randomization p-value decide at alpha 0.05
    by_interval = ((simulation["aa_low"] > 0.0) | (simulation["aa_high"] < 0.0)).mean()
    by_randomization = (simulation["aa_p"] <= 0.05).mean()

    # then each rejects about 5 % of the time: not more, and not never (a test that cannot reject is broken too)
    assert 0.02 <= by_interval <= 0.06
    assert 0.02 <= by_randomization <= 0.06


def test_a_planned_mde_is_detected_80_percent_of_the_time(simulation):
    # given replicate tests, each run with the lift its own pre-period says 80 % power detects

    # when the readout's interval decides
    rate = ((simulation["low"] > 0.0) | (simulation["high"] < 0.0)).mean()

    # then it rejects about 80 % of the time (binomial sd ≈ 0.9 point at 2 000 runs)
    assert abs(rate - 0.8) <= 0.05


def test_the_washout_keeps_the_carryover_out_of_the_lift(simulation):
    # given tests whose first days after each switch still carry the previous block's effect

    # when read out with and without those washout days
    error = np.log1p(simulation["lift"]) - np.log1p(simulation["mde"])
    blind_error = np.log1p(simulation["blind_lift"]) - np.log1p(simulation["mde"])

    # then dropping them leaves the lift unbiased, while keeping them drags it towards zero
    assert abs(error.mean()) < 0.05 * simulation["mde"].mean()
    assert blind_error.mean() < -0.15 * simulation["mde"].mean()


# --- Schedule ------------------------------------------------------------------------------------------------------


def test_the_schedule_is_balanced_contiguous_and_skips_the_washout():
    # given a 30-day test in 3-day blocks with a 1-day washout

    # when it is scheduled
    schedule = switchback_schedule(START, 30, 3, 1, seed=7)

    # then there are 10 blocks, 5 ON and 5 OFF, back to back, each analysed from its second day
    assert len(schedule) == 10
    assert sum(block.on for block in schedule) == 5
    assert schedule[0].start == START and schedule[-1].end == START + datetime.timedelta(days=29)
    for block, after in zip(schedule, schedule[1:], strict=False):
        assert after.start == block.end + datetime.timedelta(days=1)
    for block in schedule:
        assert block.end - block.start == datetime.timedelta(days=2)
        assert block.analysed_from == block.start + datetime.timedelta(days=1)


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    # given one design

    # when it is scheduled twice with one seed and once with another
    first, again, other = (switchback_schedule(START, 56, 2, 1, seed=seed) for seed in (3, 3, 4))

    # then the seed decides the schedule
    assert first == again
    assert [block.on for block in first] != [block.on for block in other]


def test_the_schedule_is_completely_randomized_and_an_odd_block_goes_either_way():
    # given 2 000 schedules of 7 blocks (3 ON, 3 OFF and one extra)

    # when the ON blocks are counted per schedule and per position
    labels = np.array([[block.on for block in switchback_schedule(START, 7, 1, 0, seed=s)] for s in range(2_000)])

    # then each has 3 or 4 ON, about half of each, and every position is ON about half the time (not alternating)
    counts = labels.sum(axis=1)
    assert set(np.unique(counts)) == {3, 4}
    assert 0.45 <= (counts == 4).mean() <= 0.55
    assert np.all(np.abs(labels.mean(axis=0) - 0.5) < 0.05)


def test_a_partial_block_at_the_end_is_not_scheduled():
    # given 17 days in 4-day blocks

    # when scheduled
    schedule = switchback_schedule(START, 17, 4, 0, seed=0)

    # then 4 whole blocks end on day 16
    assert len(schedule) == 4
    assert schedule[-1].end == START + datetime.timedelta(days=15)


def test_schedule_days_marks_each_day_and_leaves_the_washout_out():
    # given a 4-block schedule of 2 days with a 1-day washout, and dates from the day before to the day after it
    schedule = switchback_schedule(START, 8, 2, 1, seed=1)
    dates = _dates(10)
    dates = [START - datetime.timedelta(days=1), *dates[:9]]

    # when the days are marked
    on, analysed, block_id = schedule_days(schedule, dates)

    # then the outside days are block -1, each block's first day is not analysed, and ON follows the schedule
    assert block_id.tolist() == [-1, 0, 0, 1, 1, 2, 2, 3, 3, -1]
    assert analysed.tolist() == [False, False, True] * 1 + [False, True] * 3 + [False]
    assert on.tolist() == [False] + [block.on for block in schedule for _ in range(2)] + [False]


# --- Readout -------------------------------------------------------------------------------------------------------


def test_the_readout_is_the_ratio_of_block_means_with_a_t_interval():
    # given 4 blocks of 3 days, washout 1: ON blocks analysed at 110 and 120/day, OFF at 98 and 102/day
    daily = np.array([500, 110, 110, 500, 98, 98, 500, 120, 120, 0, 102, 102], dtype=float)
    on = np.repeat([True, False, True, False], 3)
    analysed = np.tile([False, True, True], 4)
    block_id = np.repeat([0, 1, 2, 3], 3)

    # when it is read out
    read = switchback_readout(daily, on, analysed, block_id, draws=3_000, seed=0)

    # then the lift is 115 / 100 − 1, its interval the delta method's on the log ratio with t(2 df), and the
    # washout days (500 and 0) count for nothing
    se = math.sqrt(50.0 / (2 * 115.0**2) + 8.0 / (2 * 100.0**2))
    half = stats.t.isf(0.025, 2) * se
    assert read.lift == pytest.approx(0.15)
    assert read.se == pytest.approx(se)
    assert (read.low, read.high) == pytest.approx((1.15 * math.exp(-half) - 1, 1.15 * math.exp(half) - 1))
    assert (read.mean_on, read.mean_off, read.df) == (pytest.approx(115.0), pytest.approx(100.0), 2)
    assert read.incremental_sales == pytest.approx(460.0 - 4 * 100.0)
    assert (read.days_analysed, read.n_on, read.n_off) == (8, 2, 2)
    # only the observed labels and their mirror image (2 of the 6) are as extreme
    assert read.p_value == pytest.approx(1 / 3, abs=0.03)


def test_the_readout_counts_each_block_once():
    # given one ON block with 3 analysed days and one with 1 (two days missing), and two OFF blocks
    daily = np.array([200, 200, 200, 100, 100, 100, 0, 0, 140, 100, 100, 100], dtype=float)
    on = np.repeat([True, False, True, False], 3)
    analysed = np.array([True, True, True, True, True, True, False, False, True, True, True, True])

    # when it is read out
    read = switchback_readout(daily, on, analysed, np.repeat([0, 1, 2, 3], 3), draws=10)

    # then the ON mean is the mean of the two block means (200 and 140), not of the four days
    assert read.mean_on == pytest.approx(170.0)
    assert read.lift == pytest.approx(0.7)


# --- Power, MDE, duration ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pre() -> np.ndarray:
    return daily_sales(np.random.default_rng(11), 1, PRE_DAYS)[0]


def test_power_at_the_mde_is_the_target_and_reports_the_design(pre):
    # given a 63-day test in 3-day blocks with a 1-day washout

    # when the MDE and the power at it are computed
    mde = switchback_mde(pre, test_days=63, block_days=3, washout_days=1)
    result = switchback_power(pre, test_days=63, block_days=3, washout_days=1, lift=mde)

    # then the power is 80 % and the design is 21 blocks, 42 analysed days
    assert result.power == pytest.approx(0.8, abs=1e-6)
    assert result.mde == pytest.approx(mde)
    assert (result.n_blocks, result.n_on, result.n_off, result.analysed_days) == (21, 10, 11, 42)
    assert 0.03 < result.block_sd < 0.12


def test_power_is_the_normal_approximation_for_a_long_test(pre):
    # given a long test of daily blocks, where t(n − 2) is all but normal
    result = switchback_power(pre, test_days=300, block_days=1, washout_days=0, lift=0.03)

    # when the power is worked out by hand from the block sd: shift = log(1.03) / (sd·sqrt(1/150 + 1/150))
    shift = math.log(1.03) / (result.block_sd * math.sqrt(2.0 / 150))
    normal = stats.norm.sf(1.96 - shift) + stats.norm.cdf(-1.96 - shift)

    # then they agree
    assert result.power == pytest.approx(normal, abs=0.005)


def test_duration_is_the_shortest_test_reaching_the_power(pre):
    # given a target lift of 8 %

    # when the duration is planned
    days = switchback_duration(pre, lift=0.08, block_days=2, washout_days=1)

    # then that test reaches 80 % power and one block fewer does not
    assert days % 2 == 0
    assert switchback_power(pre, test_days=days, block_days=2, washout_days=1, lift=0.08).power >= 0.8
    assert switchback_power(pre, test_days=days - 2, block_days=2, washout_days=1, lift=0.08).power < 0.8


def test_duration_says_the_best_mde_when_no_test_is_long_enough(pre):
    # given a lift too small for any weekly-block test up to 8 weeks
    mdes = {days: switchback_mde(pre, test_days=days, block_days=7, washout_days=2) for days in range(28, 57, 7)}
    best = min(mdes, key=mdes.get)

    # when the duration is planned, then it fails and says the best MDE within max_days
    with pytest.raises(ValueError, match=r"^lift: ") as error:
        switchback_duration(pre, lift=0.01, block_days=7, washout_days=2, max_days=60)
    assert f"the best MDE reachable is {mdes[best]:.4g} (at {best} days)" in str(error.value)


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_block_sd_is_the_within_test_sd_of_autocorrelated_days(phi):
    # given a long pre-period of AR(1) noise alone, sd 8 %
    shocks = np.random.default_rng(5).normal(0.0, 0.08 * math.sqrt(1 - phi**2), 3_000)
    shocks[0] /= math.sqrt(1 - phi**2)
    pre = LEVEL * (1.0 + signal.lfilter([1.0], [1.0, -phi], shocks))

    # when the block sd of a 28-day test of daily blocks is computed
    block_sd = switchback_power(pre, test_days=28, block_days=1, washout_days=0, lift=0.1).block_sd

    # then it is the expected sd within 28 consecutive days, below the overall sd: Var·(1 − 2/(n(n−1))·Σ(n−k)φ^k)
    lags = np.arange(1, 28)
    expected = 0.08 * math.sqrt(1 - 2 / (28 * 27) * np.sum((28 - lags) * phi**lags))
    assert block_sd == pytest.approx(expected, rel=0.08)


def test_importing_switchback_loads_no_django():
    # given a fresh interpreter

    # when it imports the switchback module
    probe = "import sys, campaigns.measure.switchback; print(any(m.startswith('django') for m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    # then Django was never imported
    assert output.strip() == "False"


# --- Bad input -----------------------------------------------------------------------------------------------------


def _pre(days: int = 56, value: float | None = None) -> np.ndarray:
    pre = np.random.default_rng(1).lognormal(5.0, 0.3, days)
    if value is not None:
        pre[5] = value
    return pre


def _read(**changes):
    arrays = {
        "daily": np.arange(1.0, 13.0),
        "on": np.repeat([True, False, True, False], 3),
        "analysed": np.ones(12, dtype=bool),
        "block_id": np.repeat([0, 1, 2, 3], 3),
    }
    options = {key: changes.pop(key) for key in ("alpha", "draws", "seed") if key in changes}
    return switchback_readout(**(arrays | changes), **options)


WEEKS = {"block_days": 7, "washout_days": 1}
DESIGN = {"test_days": 28, **WEEKS}
BAD_INPUT = [
    ("start datetime", lambda: switchback_schedule(datetime.datetime(2025, 3, 3), 28, 7, 1, 0), "start", "a date"),  # noqa: DTZ001
    ("block_days 0", lambda: switchback_schedule(START, 28, 0, 0, 0), "block_days", "whole number"),
    ("washout = block", lambda: switchback_schedule(START, 28, 7, 7, 0), "washout_days", "from 0 to block_days − 1"),
    ("washout < 0", lambda: switchback_schedule(START, 28, 7, -1, 0), "washout_days", "from 0 to"),
    ("3 blocks", lambda: switchback_schedule(START, 27, 7, 1, 0), "test_days", "at least 28 days (4 blocks of 7"),
    ("float days", lambda: switchback_schedule(START, 28.0, 7, 1, 0), "test_days", "at least 28 days"),
    ("seed < 0", lambda: switchback_schedule(START, 28, 7, 1, -1), "seed", "non-negative"),
    ("date string", lambda: schedule_days([], ["2025-03-03"]), "dates", "must be dates"),
    ("pre 2-D", lambda: switchback_mde(_pre().reshape(2, 28), **DESIGN), "pre", "1-D"),
    ("pre NaN", lambda: switchback_mde(_pre(value=np.nan), **DESIGN), "pre", "non-finite"),
    ("pre < 0", lambda: switchback_mde(_pre(value=-1.0), **DESIGN), "pre", "negative"),
    ("pre short", lambda: switchback_mde(_pre(days=55), **DESIGN), "pre", "at least 56 days (8 blocks of 7 days)"),
    ("pre zeros", lambda: switchback_mde(np.zeros(56), **DESIGN), "pre", "no sales"),
    ("pre constant", lambda: switchback_mde(np.full(56, 9.0), **DESIGN), "pre", "zero variance"),
    ("pre weekly", lambda: switchback_mde(np.tile(WEEKLY + 1, 8), **DESIGN | {"washout_days": 0}), "pre", "zero var"),
    ("lift −1", lambda: switchback_power(_pre(), lift=-1.0, **DESIGN), "lift", "above -1"),
    ("alpha 1", lambda: switchback_power(_pre(), lift=0.1, alpha=1.0, **DESIGN), "alpha", "between 0 and 1"),
    ("power ≤ alpha", lambda: switchback_mde(_pre(), power=0.05, **DESIGN), "power", "above alpha"),
    ("lift 0", lambda: switchback_duration(_pre(), lift=0.0, **WEEKS), "lift", "non-zero"),
    ("max_days", lambda: switchback_duration(_pre(), lift=0.1, max_days=21, **WEEKS), "max_days", "at least 28 days"),
    ("daily 2-D", lambda: _read(daily=np.ones((3, 4))), "daily", "1-D"),
    ("daily NaN", lambda: _read(daily=np.r_[np.nan, np.ones(11)]), "daily", "non-finite"),
    ("daily < 0", lambda: _read(daily=np.r_[-1.0, np.ones(11)]), "daily", "negative"),
    ("on short", lambda: _read(on=np.ones(11, dtype=bool)), "on", "one value per day of daily (12)"),
    ("block_id float", lambda: _read(block_id=np.zeros(12)), "block_id", "integers"),
    ("mixed block", lambda: _read(on=np.r_[True, False, np.repeat([False, True, False], 3), True]), "on", "block 0"),
    ("one OFF block", lambda: _read(on=np.repeat([True, False, True, True], 3)), "on", "1 OFF"),
    ("no OFF sales", lambda: _read(daily=np.repeat([1.0, 0.0, 1.0, 0.0], 3)), "daily", "OFF blocks"),
    ("draws 0", lambda: _read(draws=0), "draws", "at least 1"),
    ("readout seed < 0", lambda: _read(seed=-1), "seed", "non-negative"),
    ("alpha 0", lambda: _read(alpha=0.0), "alpha", "between 0 and 1"),
]


@pytest.mark.parametrize(("call", "argument", "says"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_its_argument(call, argument, says):
    # given a call with one bad argument

    # when it is made, then it fails with a message that starts with that argument and says what is wrong
    with pytest.raises(ValueError, match=rf"^{argument}: ") as error:
        call()
    assert says in str(error.value)
