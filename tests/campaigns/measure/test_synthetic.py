"""The synthetic-control readout with conformal inference, checked by simulation against known truth: interval
coverage, A/A false positives, and the case it exists for (treated regions that drift away from the controls'
total, which difference-in-differences reads as lift)."""

import math

import numpy as np
import pytest

from campaigns.measure.geo import did_interval, did_lift
from campaigns.measure.synthetic import synthetic_readout
from tests.campaigns.measure.test_power import PRE_DAYS, REGIONS, TEST_DAYS, WEEKLY, regional_sales

SIMULATIONS = 1000
LIFT = 0.05


@pytest.fixture(scope="module")
def market():
    rng = np.random.default_rng(20_240_611)
    level = rng.lognormal(math.log(2_000.0), 0.7, REGIONS)
    return level, np.argsort(level)[::2]


@pytest.fixture(scope="module")
def simulation(market):
    """1,000 replicate geo tests run with a 5 % true lift, and the same tests without one."""
    level, treated = market
    pre, test = regional_sales(np.random.default_rng(3), SIMULATIONS, level)
    lifted = test.copy()
    lifted[:, treated, :] *= 1.0 + LIFT
    out = {"covered": [], "aa_covered": [], "aa_rejected": [], "lift": []}
    for one_pre, one_test, one_lifted in zip(pre, test, lifted, strict=True):
        readout = synthetic_readout(one_pre, one_lifted, treated=treated)
        aa = synthetic_readout(one_pre, one_test, treated=treated)
        out["covered"].append(readout.interval[0] <= LIFT <= readout.interval[1])
        out["aa_covered"].append(aa.interval[0] <= 0.0 <= aa.interval[1])
        out["aa_rejected"].append(aa.p_value <= 0.05)
        out["lift"].append(readout.lift)
    return {key: np.array(values) for key, values in out.items()}


def test_the_synthetic_control_95_percent_interval_covers_the_true_lift_93_to_97_percent_of_the_time(simulation):
    # given 1,000 replicate geo tests with a known 5 % lift, and the same tests without it

    # when each conformal interval is checked against the truth
    coverage, aa_coverage = simulation["covered"].mean(), simulation["aa_covered"].mean()

    # then it covers it about 95 % of the time (binomial sd ≈ 0.7 point)
    assert 0.93 <= coverage <= 0.97
    assert 0.93 <= aa_coverage <= 0.97


def test_a_synthetic_control_aa_test_rejects_at_most_alpha(simulation):
    # given the tests without a lift, when the conformal p-value of "no lift" is read at 5 %
    rate = simulation["aa_rejected"].mean()

    # then it rejects at most about 5 % of the time, and does reject sometimes (a test that never rejects is broken)
    assert 0.02 <= rate <= 0.06
    assert np.array_equal(simulation["aa_rejected"], ~simulation["aa_covered"])


def test_the_synthetic_control_lift_is_unbiased(simulation):
    errors = simulation["lift"] - LIFT
    assert abs(errors.mean()) < 3 * errors.std() / math.sqrt(errors.size) + 1e-3


def two_clusters(rng, sims: int, level: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regions in two clusters, the even-numbered ones growing 0.3 % a day; a common random walk, the weekly
    pattern and 3 % daily regional noise."""
    days = PRE_DAYS + TEST_DAYS
    growing = np.arange(level.size) % 2 == 0
    common = np.cumsum(rng.normal(0.0, 0.01, (sims, 1, days)), axis=-1)
    own = rng.normal(0.0, 0.03, (sims, level.size, days))
    trend = np.where(growing[:, None], 0.003 * np.arange(days), 0.0)
    sales = level[:, None] * (1.0 + WEEKLY[np.arange(days) % 7]) * np.exp(common + trend + own)
    return sales[..., :PRE_DAYS], sales[..., PRE_DAYS:], growing


def test_treated_regions_that_drift_from_the_controls_total_fool_did_but_not_the_synthetic_control(market):
    # given a test without any lift whose treated regions are all growing ones (half the controls grow too)
    level, _ = market
    pre, test, growing = two_clusters(np.random.default_rng(8), 200, level)
    treated = np.flatnonzero(growing)[::2]

    # when both readouts are applied
    did, did_se = did_lift(pre, test, treated=treated)
    did_low, did_high = did_interval(did, did_se, blocks_pre=PRE_DAYS // 7)
    readouts = [synthetic_readout(p, t, treated=treated) for p, t in zip(pre, test, strict=True)]

    # then DiD reads the drift as a lift of about 10 % and its intervals miss the truth; the synthetic control
    # puts its weight on the growing controls, reads under a tenth of that, and covers the truth far more often
    assert did.mean() > 0.08
    assert abs(np.mean([r.lift for r in readouts])) < did.mean() / 10
    assert np.mean([sum(w for j, w in r.weights.items() if growing[j]) for r in readouts]) > 0.9
    did_covers = np.mean((did_low <= 0.0) & (0.0 <= did_high))
    assert did_covers < 0.2
    assert np.mean([r.interval[0] <= 0.0 <= r.interval[1] for r in readouts]) > 0.8


def test_the_readout_reports_weights_fit_and_the_daily_counterfactual(market):
    level, treated = market
    pre, test = regional_sales(np.random.default_rng(4), 1, level)
    test = test[0].copy()
    test[treated] *= 1.10

    readout = synthetic_readout(pre[0], test, treated=treated)

    assert sum(readout.weights.values()) == pytest.approx(1.0, abs=0.01)
    assert not set(readout.weights) & set(treated.tolist())
    assert readout.treated.shape == readout.counterfactual.shape == (PRE_DAYS + TEST_DAYS,)
    assert readout.pre_fit < 0.1
    assert readout.interval[0] < 0.10 < readout.interval[1]
    assert readout.p_value < 0.05
    expected = readout.treated[PRE_DAYS:].sum() - readout.counterfactual[PRE_DAYS:].sum()
    assert readout.incremental_sales == pytest.approx(expected)


@pytest.mark.parametrize(("pre_days", "test_days", "says"), [
    (20, 28, "pre: synthetic control needs at least 28 days"),
    (28, 0, "test: needs at least one day"),
])
def test_too_short_periods_say_how_many_days_are_needed(market, pre_days, test_days, says):
    level, treated = market
    pre, test = regional_sales(np.random.default_rng(5), 1, level)
    with pytest.raises(ValueError, match=says):
        synthetic_readout(pre[0][:, :pre_days], test[0][:, :test_days], treated=treated)


def test_a_strict_alpha_needs_more_days_than_the_series_has(market):
    level, treated = market
    pre, test = regional_sales(np.random.default_rng(5), 1, level)
    with pytest.raises(ValueError, match=r"pre: with 112 days in all, the smallest p-value .* at least 1001 days"):
        synthetic_readout(pre[0], test[0], treated=treated, alpha=0.001)
