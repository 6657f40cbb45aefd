"""Power, sample size and MDE: proportions and means agree with statsmodels; the geo calculation is honest against
its own readout by simulation; durations, budgets and curves follow from it; every bad input names its argument."""

import math
import subprocess
import sys

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from campaigns.measure import power
from campaigns.measure.geo import (
    did_interval,
    did_lift,
    did_significant,
    duration_curve,
    geo_duration,
    geo_mde,
    geo_mde_for_budget,
    geo_power,
)
from campaigns.measure.power import (
    mean_mde,
    mean_power,
    mean_sample_size,
    power_curve,
    proportion_mde,
    proportion_power,
    proportion_sample_size,
)

PROPORTION_CASES = [(0.02, 0.1, 1.0), (0.02, 0.3, 0.5), (0.1, 0.05, 1.0), (0.1, -0.1, 3.0), (0.4, 0.2, 2.0)]
MEAN_CASES = [(50.0, 20.0, 0.05, 1.0), (50.0, 20.0, 0.3, 0.5), (10.0, 30.0, 0.3, 2.5), (-8.0, 4.0, 0.1, 1.0)]

REGIONS, PRE_DAYS, TEST_DAYS = 20, 84, 28  # 12 weekly blocks before, 4 in the test
SIMULATIONS, CHUNK = 10_000, 2_000
WEEKLY = np.array([0.3, -0.1, -0.15, -0.1, 0.0, 0.15, 0.25])


# --- Proportions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("baseline", "lift", "ratio"), PROPORTION_CASES)
def test_proportion_power_agrees_with_statsmodels(baseline, lift, ratio):
    # given Cohen's h for the two rates, as statsmodels computes it
    h = proportion_effectsize(baseline * (1 + lift), baseline)

    for n in (50, 1_000, 20_000):
        # when both compute the power
        ours = proportion_power(baseline=baseline, lift=lift, n_per_arm=n, ratio=ratio)

        # then they agree
        assert ours == pytest.approx(NormalIndPower().power(h, n, 0.05, ratio=ratio), abs=1e-9)


@pytest.mark.parametrize(("baseline", "lift", "ratio"), PROPORTION_CASES)
def test_proportion_sample_size_is_the_smallest_n_reaching_the_power(baseline, lift, ratio):
    # given a target of 80 % power
    h = proportion_effectsize(baseline * (1 + lift), baseline)

    # when the sample size is found
    n = proportion_sample_size(baseline=baseline, lift=lift, ratio=ratio)

    # then it is statsmodels' solution rounded up: n reaches the power, n − 1 does not
    assert n - 1 < NormalIndPower().solve_power(abs(h), power=0.8, alpha=0.05, ratio=ratio) <= n + 1e-6
    assert proportion_power(baseline=baseline, lift=lift, n_per_arm=n, ratio=ratio) >= 0.8
    assert proportion_power(baseline=baseline, lift=lift, n_per_arm=n - 1, ratio=ratio) < 0.8


@pytest.mark.parametrize(("baseline", "lift", "ratio"), PROPORTION_CASES)
def test_proportion_mde_has_exactly_the_target_power(baseline, lift, ratio):
    # given 2 000 in the first group
    n = 2_000

    # when the MDE is found at 90 % power
    mde = proportion_mde(baseline=baseline, n_per_arm=n, power=0.9, ratio=ratio)

    # then both we and statsmodels give that lift 90 % power
    assert proportion_power(baseline=baseline, lift=mde, n_per_arm=n, ratio=ratio) == pytest.approx(0.9, abs=1e-6)
    h = proportion_effectsize(baseline * (1 + mde), baseline)
    assert NormalIndPower().power(h, n, 0.05, ratio=ratio) == pytest.approx(0.9, abs=1e-6)


# --- Means ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mean", "sd", "lift", "ratio"), MEAN_CASES)
def test_mean_power_agrees_with_statsmodels(mean, sd, lift, ratio):
    # given Cohen's d
    d = mean * lift / sd

    for n in (3, 40, 500):
        # when both compute the power of the t-test
        ours = mean_power(mean=mean, sd=sd, lift=lift, n_per_arm=n, ratio=ratio)

        # then they agree
        assert ours == pytest.approx(TTestIndPower().power(d, n, 0.05, ratio=ratio), abs=1e-9)


@pytest.mark.parametrize(("mean", "sd", "lift", "ratio"), MEAN_CASES)
def test_mean_sample_size_is_the_smallest_n_reaching_the_power(mean, sd, lift, ratio):
    # given a target of 80 % power
    d = abs(mean * lift / sd)

    # when the sample size is found
    n = mean_sample_size(mean=mean, sd=sd, lift=lift, ratio=ratio)

    # then it is statsmodels' solution rounded up: n reaches the power, n − 1 does not
    assert n - 1 < TTestIndPower().solve_power(d, power=0.8, alpha=0.05, ratio=ratio) <= n + 1e-6
    assert mean_power(mean=mean, sd=sd, lift=lift, n_per_arm=n, ratio=ratio) >= 0.8
    assert mean_power(mean=mean, sd=sd, lift=lift, n_per_arm=n - 1, ratio=ratio) < 0.8


@pytest.mark.parametrize(("mean", "sd", "lift", "ratio"), MEAN_CASES)
def test_mean_mde_has_exactly_the_target_power(mean, sd, lift, ratio):
    # given 30 in the first group
    n = 30

    # when the MDE is found
    mde = mean_mde(mean=mean, sd=sd, n_per_arm=n, ratio=ratio, alpha=0.1)

    # then both we and statsmodels give that lift 80 % power, and statsmodels' own solve finds the same effect
    assert mean_power(mean=mean, sd=sd, lift=mde, n_per_arm=n, ratio=ratio, alpha=0.1) == pytest.approx(0.8, abs=1e-6)
    d = TTestIndPower().solve_power(None, nobs1=n, power=0.8, alpha=0.1, ratio=ratio)
    assert TTestIndPower().power(abs(mean) * mde / sd, n, 0.1, ratio=ratio) == pytest.approx(0.8, abs=1e-6)
    assert mde == pytest.approx(d * sd / abs(mean), rel=1e-4)  # statsmodels' solver stops at about 1e-5


# --- Geo: synthetic regional sales ---------------------------------------------------------------------------------


def regional_sales(rng, sims: int, level: np.ndarray, *, regional_ar: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Daily sales, sims × regions × days, split into pre and test: region levels, a weekly pattern, a persistent
    common shock (what the control group is there to cancel), and AR(1) regional noise (10 % a day)."""
    days = PRE_DAYS + TEST_DAYS
    common = np.empty((sims, 1, days))
    noise = np.empty((sims, level.size, days))
    shock = rng.normal(0.0, 0.05, (sims, 1))
    own = rng.normal(0.0, 0.1, (sims, level.size))
    for day in range(days):
        shock = 0.8 * shock + 0.6 * rng.normal(0.0, 0.05, (sims, 1))  # stationary sd 0.05
        own = regional_ar * own + math.sqrt(1 - regional_ar**2) * rng.normal(0.0, 0.1, (sims, level.size))
        common[..., day], noise[..., day] = shock, own
    sales = level[:, None] * (1.0 + WEEKLY[np.arange(days) % 7]) * np.exp(common) * (1.0 + noise)
    return sales[..., :PRE_DAYS], sales[..., PRE_DAYS:]


@pytest.fixture(scope="module")
def market():
    """One market: 20 regions of different sizes, every other one (by size) treated, and a pre-period."""
    rng = np.random.default_rng(20_240_611)
    level = rng.lognormal(math.log(2_000.0), 0.7, REGIONS)
    treated = np.argsort(level)[::2]
    pre, _ = regional_sales(rng, 1, level)
    return level, treated, pre[0]


@pytest.fixture(scope="module")
def simulation(market):
    """Many replicate tests: each plans its MDE from its own pre-period, then runs with that true lift (and as A/A).

    Run in chunks so the panels never take more than ~50 MB at a time.
    """
    level, treated, _ = market
    rng = np.random.default_rng(7)
    chunks = [_replicates(rng, level, treated, CHUNK) for _ in range(SIMULATIONS // CHUNK)]
    return {key: np.concatenate([chunk[key] for chunk in chunks]) for key in chunks[0]}


def _replicates(rng, level: np.ndarray, treated: np.ndarray, sims: int) -> dict[str, np.ndarray]:
    pre, test = regional_sales(rng, sims, level)
    mde = np.array([geo_mde(one, treated=treated, test_days=TEST_DAYS) for one in pre])
    lifted = test.copy()
    lifted[:, treated, :] *= 1.0 + mde[:, None, None]
    lift, se = did_lift(pre, lifted, treated=treated)
    aa_lift, aa_se = did_lift(pre, test, treated=treated)
    low, high = did_interval(lift, se, blocks_pre=PRE_DAYS // 7)
    aa_low, aa_high = did_interval(aa_lift, aa_se, blocks_pre=PRE_DAYS // 7)
    return {
        "mde": mde,
        "lift": lift,
        "covered": (low <= mde) & (mde <= high),
        "aa_covered": (aa_low <= 0.0) & (0.0 <= aa_high),
        "rejected": did_significant(lift, se, blocks_pre=PRE_DAYS // 7),
        "aa_rejected": did_significant(aa_lift, aa_se, blocks_pre=PRE_DAYS // 7),
    }


# --- Geo: honest by simulation -------------------------------------------------------------------------------------


def test_a_planned_geo_mde_is_detected_80_percent_of_the_time(simulation):
    # given replicate tests, each run with the lift its own pre-period says 80 % power detects

    # when the DiD readout is applied to each
    rate = simulation["rejected"].mean()

    # then it rejects about 80 % of the time (binomial sd ≈ 0.4 point at 10 000 runs)
    assert 0.75 <= rate <= 0.85


def test_a_geo_aa_test_rejects_about_alpha_of_the_time(simulation):
    # given the same replicate tests without any lift

    # when the DiD readout is applied to each
    rate = simulation["aa_rejected"].mean()

    # then it rejects at about the 5 % it promises (binomial sd ≈ 0.2 point at 10 000 runs; the 10 % a day regional
    # noise that carries over, AR(1) 0.1, leaks a little correlation between weeks: about 5.4 % at 20 000 runs)
    assert rate <= 0.06


def test_the_did_95_percent_interval_covers_the_true_lift_93_to_97_percent_of_the_time(simulation):
    # given 10 000 replicate geo tests with a known true lift each (and the same tests without one)

    # when each readout's 95 % interval is checked against the truth
    coverage, aa_coverage = simulation["covered"].mean(), simulation["aa_covered"].mean()

    # then it covers it about 95 % of the time (binomial sd ≈ 0.2 point): neither too narrow nor too wide
    assert 0.93 <= coverage <= 0.97
    assert 0.93 <= aa_coverage <= 0.97


def test_the_did_interval_excludes_zero_exactly_when_the_readout_is_significant(simulation):
    assert np.array_equal(~simulation["aa_covered"], simulation["aa_rejected"])


def test_the_did_readout_is_unbiased(simulation):
    # given replicate tests run with a known true lift each
    errors = simulation["lift"] - simulation["mde"]

    # when the estimates are compared with the truth

    # then they are right on average: off by well under 5 % of the effect (a ratio estimator's small bias remains,
    # about 0.5 % of it here; forgetting to scale the control, or comparing with the wrong period, is far off)
    assert abs(errors.mean()) < 0.05 * simulation["mde"].mean()


# --- Geo: power, duration, budget, curves --------------------------------------------------------------------------


def test_geo_power_at_its_own_mde_is_80_percent_and_reports_the_design(market):
    # given a market with three stray days before the whole weeks of the pre-period
    level, treated, pre = market
    padded = np.concatenate([pre[:, :3] * 50.0, pre], axis=1)

    # when the power at its 4-week MDE is asked for
    result = geo_power(padded, treated=treated, lift=geo_mde(pre, treated=treated, test_days=28), test_days=30)

    # then the stray days are dropped, the power is 80 %, and the figures follow from the pre-period
    treated_per_week = pre[treated].sum() / 12
    assert result.power == pytest.approx(0.8, abs=1e-9)
    assert (result.blocks_pre, result.blocks_test) == (12, 4)
    assert result.treated_share == pytest.approx(pre[treated].sum() / pre.sum(), rel=1e-12)
    assert result.expected_incremental_sales == pytest.approx(result.mde * treated_per_week * 4, rel=1e-12)
    assert result.se == pytest.approx(result.mde / power._shift_for_power(11.0, 0.05, 0.8), rel=1e-12)


def test_geo_duration_is_the_shortest_test_reaching_the_target(market):
    # given a target MDE between those of a 5- and a 6-week test
    _, treated, pre = market
    target = (geo_mde(pre, treated=treated, test_days=35) + geo_mde(pre, treated=treated, test_days=42)) / 2

    # when the duration is found
    days = geo_duration(pre, treated=treated, mde=target)

    # then it reaches the target and one week less does not
    assert days == 42
    assert geo_mde(pre, treated=treated, test_days=days) <= target < geo_mde(pre, treated=treated, test_days=days - 7)


def test_geo_duration_is_none_for_a_target_no_duration_reaches(market):
    # given the MDE of an endless test (the pre-period's own noise stays), and one of a 20-week test
    _, treated, pre = market
    floor = geo_mde(pre, treated=treated, test_days=100_000)
    twenty_weeks = geo_mde(pre, treated=treated, test_days=140)

    # when durations are asked for targets below them, within 180 and within 70 days
    impossible = geo_duration(pre, treated=treated, mde=floor * 0.99)
    too_long = geo_duration(pre, treated=treated, mde=twenty_weeks, max_days=70)

    # then there is none
    assert impossible is None
    assert too_long is None


def test_the_budget_buys_the_mde_only_for_short_enough_tests(market):
    # given a budget that buys exactly (a hair over) the 4-week MDE at an iROAS of 3
    _, treated, pre = market
    treated_per_week = pre[treated].sum() / 12
    budget = geo_mde(pre, treated=treated, test_days=28) * treated_per_week * 4 / 3.0 * 1.000_001

    # when the MDE per duration is set against the lift the budget buys
    rows = geo_mde_for_budget(pre, treated=treated, budget=budget, iroas=3.0, max_days=70)

    # then each row has the duration's MDE, and the budget, spread thinner over longer tests, reaches 1 to 4 weeks
    assert [days for days, _, _ in rows] == [7, 14, 21, 28, 35, 42, 49, 56, 63, 70]
    assert [mde for _, mde, _ in rows] == [geo_mde(pre, treated=treated, test_days=d) for d in range(7, 71, 7)]
    assert [reachable for _, _, reachable in rows] == [True] * 4 + [False] * 6


def test_power_curves_follow_the_power_functions(market):
    # given the three kinds of test
    _, treated, pre = market
    lifts = [0.0, 0.02, 0.05, 0.1]

    # when their power curves are drawn
    geo = power_curve("geo", lifts=lifts, pre=pre, treated=treated, test_days=28)
    proportion = power_curve("proportion", lifts=lifts, baseline=0.05, n_per_arm=10_000)
    mean = power_curve("mean", lifts=lifts, mean=40.0, sd=25.0, n_per_arm=800, ratio=2.0)

    # then each point is its power function's, rising from alpha
    assert geo == [(lift, geo_power(pre, treated=treated, lift=lift, test_days=28).power) for lift in lifts]
    assert proportion == [(lift, proportion_power(baseline=0.05, lift=lift, n_per_arm=10_000)) for lift in lifts]
    assert mean == [(lift, mean_power(mean=40.0, sd=25.0, lift=lift, n_per_arm=800, ratio=2.0)) for lift in lifts]
    for curve in (geo, proportion, mean):
        powers = [p for _, p in curve]
        assert powers[0] == pytest.approx(0.05, abs=1e-9)
        assert powers == sorted(powers)


def test_the_duration_curve_is_the_mde_per_duration(market):
    # given durations, one of them with two days past a whole week
    _, treated, pre = market

    # when the duration curve is drawn
    curve = duration_curve(pre, treated=treated, days=[14, 28, 30, 56])

    # then each point is geo_mde's, partial weeks do not count, and longer tests see less
    assert curve == [(d, geo_mde(pre, treated=treated, test_days=d)) for d in (14, 28, 30, 56)]
    assert curve[1][1] == curve[2][1] > curve[3][1]


def test_importing_power_loads_no_django():
    # given a fresh interpreter

    # when it imports the power module
    probe = ("import sys, campaigns.measure.power, campaigns.measure.geo; "
             "print(any(m.startswith('django') for m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    # then Django was never imported
    assert output.strip() == "False"


# --- Bad input -----------------------------------------------------------------------------------------------------


def _pre(regions: int = 4, days: int = 28) -> np.ndarray:
    return np.random.default_rng(1).lognormal(5.0, 0.3, (regions, days))


def _with(value: float) -> np.ndarray:
    pre = _pre()
    pre[2, 5] = value
    return pre


GEO = {"treated": [0, 1], "test_days": 14}
BAD_INPUT = [
    ("one region", lambda: geo_mde(_pre(regions=1), treated=[0], test_days=14), "pre", "at least 2 regions"),
    ("not a matrix", lambda: geo_mde(_pre()[0], **GEO), "pre", "regions × days"),
    ("too short", lambda: geo_mde(_pre(days=20), **GEO), "pre", "at least 21 days (3 blocks of 7 days)"),
    ("NaN", lambda: geo_mde(_with(np.nan), **GEO), "pre", "non-finite"),
    ("infinity", lambda: geo_power(_with(np.inf), lift=0.1, **GEO), "pre", "non-finite"),
    ("proportional", lambda: geo_mde(np.outer([1.0, 2.0, 3.0], _pre()[0]), **GEO), "pre", "zero variance"),
    ("no treated", lambda: geo_mde(_pre(), treated=[], test_days=14), "treated", "names no region"),
    ("all treated", lambda: geo_mde(_pre(), treated=[0, 1, 2, 3], test_days=14), "treated", "no control"),
    ("index too big", lambda: geo_mde(_pre(), treated=[0, 4], test_days=14), "treated", "out of range"),
    ("negative index", lambda: geo_mde(_pre(), treated=[-1], test_days=14), "treated", "out of range"),
    ("repeated index", lambda: geo_mde(_pre(), treated=[1, 1], test_days=14), "treated", "listed twice"),
    ("float index", lambda: geo_mde(_pre(), treated=[0.5], test_days=14), "treated", "integers"),
    ("lift −1", lambda: geo_power(_pre(), lift=-1.0, **GEO), "lift", "above -1"),
    ("lift −2", lambda: geo_power(_pre(), lift=-2.0, **GEO), "lift", "above -1"),
    ("short test", lambda: geo_mde(_pre(), treated=[0], test_days=6), "test_days", "at least block_days (7)"),
    ("alpha 0", lambda: geo_mde(_pre(), alpha=0.0, **GEO), "alpha", "between 0 and 1"),
    ("alpha 1", lambda: geo_power(_pre(), lift=0.1, alpha=1.0, **GEO), "alpha", "between 0 and 1"),
    ("power 1", lambda: geo_mde(_pre(), power=1.0, **GEO), "power", "between 0 and 1"),
    ("power 0", lambda: geo_duration(_pre(), treated=[0], mde=0.1, power=0.0), "power", "between 0 and 1"),
    ("power ≤ alpha", lambda: geo_mde(_pre(), power=0.04, **GEO), "power", "above alpha"),
    ("mde 0", lambda: geo_duration(_pre(), treated=[0], mde=0.0), "mde", "positive"),
    ("max_days < a week", lambda: geo_duration(_pre(), treated=[0], mde=0.1, max_days=5), "max_days", "at least"),
    ("block_days 0", lambda: geo_mde(_pre(), block_days=0, **GEO), "block_days", "whole number"),
    ("budget 0", lambda: geo_mde_for_budget(_pre(), treated=[0], budget=0.0, iroas=2.0), "budget", "positive"),
    ("iroas < 0", lambda: geo_mde_for_budget(_pre(), treated=[0], budget=9.0, iroas=-1.0), "iroas", "positive"),
    ("duration < a week", lambda: duration_curve(_pre(), treated=[0], days=[14, 3]), "days", "at least"),
    ("unknown kind", lambda: power_curve("bayes", lifts=[0.1]), "kind", "one of"),
    ("test regions", lambda: did_lift(_pre(), _pre(regions=3), treated=[0]), "test", "same regions"),
    ("test NaN", lambda: did_lift(_pre(), _with(np.nan), treated=[0]), "test", "non-finite"),
    ("blocks_pre 1", lambda: did_significant(0.1, 0.01, blocks_pre=1), "blocks_pre", "at least 3"),
    ("baseline 0", lambda: proportion_power(baseline=0.0, lift=0.1, n_per_arm=9), "baseline", "between 0 and 1"),
    ("rate > 1", lambda: proportion_power(baseline=0.6, lift=0.7, n_per_arm=9), "lift", "at most 1"),
    ("lift 0", lambda: proportion_sample_size(baseline=0.1, lift=0.0), "lift", "non-zero"),
    ("n 0", lambda: proportion_power(baseline=0.1, lift=0.1, n_per_arm=0), "n_per_arm", "positive"),
    ("ratio 0", lambda: proportion_mde(baseline=0.1, n_per_arm=9, ratio=0.0), "ratio", "positive"),
    ("no lift reaches", lambda: proportion_mde(baseline=0.9, n_per_arm=2), "n_per_arm", "cannot reach"),
    ("sd 0", lambda: mean_power(mean=5.0, sd=0.0, lift=0.1, n_per_arm=9), "sd", "positive"),
    ("mean 0", lambda: mean_mde(mean=0.0, sd=1.0, n_per_arm=9), "mean", "non-zero"),
    ("t-test n 1", lambda: mean_power(mean=5.0, sd=1.0, lift=0.1, n_per_arm=1), "n_per_arm", "at least 2"),
    ("mean lift 0", lambda: mean_sample_size(mean=5.0, sd=1.0, lift=0.0), "lift", "non-zero"),
]


@pytest.mark.parametrize(("call", "argument", "says"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_its_argument(call, argument, says):
    # given a call with one bad argument

    # when it is made, then it fails with a message that starts with that argument and says what is wrong
    with pytest.raises(ValueError, match=rf"^{argument}: ") as error:
        call()
    assert says in str(error.value)


def test_t_power_stays_a_probability_far_above_the_mde():
    # scipy's non-central t gives NaN for the far lower tail at large shifts; the power is then simply 1
    assert power._t_power(15.0, 11.0, 0.05) == pytest.approx(1.0)
    assert 0.0 < power._t_power(2.0, 11.0, 0.05) < 1.0
