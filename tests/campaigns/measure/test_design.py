"""Geo test design: the ranked designs beat random splits, keep to include/exclude and the target share, avoid a
noisy region, report exactly what geo's power calculation says about them, are reproducible, fast, and every bad
input names its argument."""

import math
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import optimize

from campaigns.measure.design import geo_designs
from campaigns.measure.geo import geo_mde, geo_power

REGIONS, PRE_DAYS, TEST_DAYS, N_TREATED = 16, 84, 28, 4  # 12 weekly blocks before the test, 4 in it
NAMES = tuple(f"region-{index:02d}" for index in range(REGIONS))
WEEKLY = np.array([0.3, -0.1, -0.15, -0.1, 0.0, 0.15, 0.25])


def regional_sales(rng, level: np.ndarray, *, noise_sd: np.ndarray | float = 0.1, days: int = PRE_DAYS) -> np.ndarray:
    """Daily pre-period sales, regions × days: region levels, a weekly pattern, a persistent common shock (what the
    control group cancels) and AR(1) regional noise (`noise_sd` a day, per region or for all)."""
    shock = np.empty(days)
    noise = np.empty((level.size, days))
    common, own = rng.normal(0.0, 0.05), rng.normal(0.0, 1.0, level.size)
    for day in range(days):
        common = 0.8 * common + 0.6 * rng.normal(0.0, 0.05)
        own = 0.1 * own + math.sqrt(1 - 0.1**2) * rng.normal(0.0, 1.0, level.size)
        shock[day], noise[:, day] = common, own
    return (
        level[:, None]
        * (1.0 + WEEKLY[np.arange(days) % 7])
        * np.exp(shock)
        * (1.0 + np.reshape(noise_sd, (-1, 1)) * noise)
    )


@pytest.fixture(scope="module")
def market():
    """One market of 16 regions with lognormal sizes, and its pre-period."""
    rng = np.random.default_rng(20_240_701)
    level = rng.lognormal(math.log(2_000.0), 0.7, REGIONS)
    return level, regional_sales(rng, level)


def _indices(names) -> list[int]:
    return [NAMES.index(name) for name in names]


def _blocks(pre: np.ndarray) -> np.ndarray:
    return pre[:, pre.shape[1] % 7 :].reshape(pre.shape[0], -1, 7).sum(axis=2)


# --- Ranking -------------------------------------------------------------------------------------------------------


def test_the_top_design_beats_the_median_random_split(market):
    # given the market and 200 random splits treating as many regions
    _, pre = market
    rng = np.random.default_rng(5)
    random_mdes = [
        geo_mde(pre, treated=rng.choice(REGIONS, N_TREATED, replace=False), test_days=TEST_DAYS) for _ in range(200)
    ]

    # when designs are searched
    designs = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS)

    # then the best has a smaller MDE than the median random split, and they come best first
    assert len(designs) == 5
    assert designs[0].mde <= np.median(random_mdes)
    assert [design.score for design in designs] == sorted(design.score for design in designs)


def test_the_score_is_the_mde_with_small_penalties(market):
    # given designs
    _, pre = market

    # when they are searched
    designs = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, top=50)

    # then each score is mde × (1 + (imbalance / 0.1)² + 0.5·synthetic_rmse)
    for design in designs:
        penalty = 1.0 + (design.imbalance / 0.1) ** 2 + 0.5 * design.synthetic_rmse
        assert design.score == pytest.approx(design.mde * penalty, rel=1e-12)


def test_the_top_design_stays_near_the_target_share(market):
    # given the market, searched with the default target (4 of 16 regions) and with a target of 30 %
    _, pre = market

    # when designs are searched
    default = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS)[0]
    targeted = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, target_share=0.3)[0]

    # then the treated share is within 10 points of the target, and the imbalance is that distance
    assert default.imbalance <= 0.1
    assert default.imbalance == pytest.approx(abs(default.treated_share - N_TREATED / REGIONS), abs=1e-12)
    assert targeted.imbalance <= 0.1
    assert targeted.imbalance == pytest.approx(abs(targeted.treated_share - 0.3), abs=1e-12)


def test_a_noisy_region_is_kept_out_of_treatment(market):
    # given the market with a mid-sized region five times as noisy as the others
    level, _ = market
    noisy = int(np.argsort(level)[REGIONS // 2])
    noise_sd = np.full(REGIONS, 0.1)
    noise_sd[noisy] = 0.5
    pre = regional_sales(np.random.default_rng(11), level, noise_sd=noise_sd)

    # when designs are searched
    best = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS)[0]

    # then the noisy region is not treated
    assert NAMES[noisy] not in best.cells[0]
    assert NAMES[noisy] in best.control


# --- Constraints ---------------------------------------------------------------------------------------------------


def test_every_candidate_keeps_to_include_exclude_and_disjoint_cells(market):
    # given three test cells of three regions, two regions that must be treated and two left out
    _, pre = market
    include, exclude = (NAMES[0], NAMES[5]), (NAMES[3], NAMES[9])

    # when every candidate is asked for
    designs = geo_designs(
        pre, NAMES, n_treated=3, cells=3, test_days=TEST_DAYS, include=include, exclude=exclude, top=10_000
    )

    # then each has three disjoint cells of three, includes treated, excludes nowhere, the rest control
    assert len(designs) > 50
    assert len({design.cells for design in designs}) == len(designs)
    for design in designs:
        treated = [name for cell in design.cells for name in cell]
        assert [len(cell) for cell in design.cells] == [3, 3, 3]
        assert len(set(treated)) == 9
        assert set(include) <= set(treated)
        assert not set(exclude) & (set(treated) | set(design.control))
        assert sorted(treated + list(design.control)) == sorted(set(NAMES) - set(exclude))


def test_an_include_that_fills_the_design_is_the_design(market):
    # given as many regions to include as the design treats
    _, pre = market
    include = (NAMES[2], NAMES[7], NAMES[11], NAMES[12])

    # when designs are searched
    designs = geo_designs(pre, NAMES, n_treated=4, test_days=TEST_DAYS, include=include)

    # then there is one: those regions
    assert [design.cells for design in designs] == [(include,)]


def test_an_excluded_region_is_left_out_with_its_bad_data(market):
    # given a region whose sales were filled in with a constant
    _, pre = market
    filled = pre.copy()
    filled[4] = 1_000.0

    # when it is excluded, then the design goes ahead without it
    best = geo_designs(filled, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, exclude=[NAMES[4]])[0]
    assert NAMES[4] not in best.cells[0] + best.control


# --- Metrics -------------------------------------------------------------------------------------------------------


def test_a_design_reports_what_geo_says_about_it(market):
    # given the top design for a 10 % lift at an iROAS of 2.5
    _, pre = market
    best = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, lift=0.1, iroas=2.5)[0]
    treated = _indices(best.cells[0])

    # when geo's own calculation is run on that split
    at_lift = geo_power(pre, treated=treated, lift=0.1, test_days=TEST_DAYS)
    at_mde = geo_power(pre, treated=treated, lift=best.mde, test_days=TEST_DAYS)

    # then the MDE, power, share and cost agree with it
    assert best.mde == pytest.approx(geo_mde(pre, treated=treated, test_days=TEST_DAYS), rel=1e-12)
    assert best.power_at_lift == pytest.approx(at_lift.power, rel=1e-12)
    assert best.treated_share == pytest.approx(at_lift.treated_share, rel=1e-12)
    assert best.expected_cost == pytest.approx(at_mde.expected_incremental_sales / 2.5, rel=1e-12)


def test_the_fit_metrics_are_the_pre_period_correlation_and_a_held_out_synthetic_control(market):
    # given the top design and the weekly sales of its treated and control regions
    _, pre = market
    best = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS)[0]
    blocks = _blocks(pre)
    treated, control = blocks[_indices(best.cells[0])].sum(axis=0), blocks[_indices(best.control)]

    # when the correlation and an 8-week nnls synthetic control, scored on the last 4 weeks, are computed here
    weights, _ = optimize.nnls(control[:, :8].T, treated[:8])
    error = treated[8:] - weights @ control[:, 8:]

    # then they are the design's
    assert best.correlation == pytest.approx(np.corrcoef(treated, control.sum(axis=0))[0, 1], rel=1e-12)
    assert best.synthetic_rmse == pytest.approx(np.sqrt(np.mean(error**2)) / treated[8:].mean(), rel=1e-6)


def test_a_multi_cell_design_reports_its_worst_cell(market):
    # given a two-cell design with a lift and an iROAS
    _, pre = market
    best = geo_designs(pre, NAMES, n_treated=3, cells=2, test_days=TEST_DAYS, lift=0.04, iroas=2.0)[0]
    control = _indices(best.control)

    # when each cell is measured by geo against the shared control alone
    mdes, powers, sales = [], [], []
    for cell in best.cells:
        panel = pre[_indices(cell) + control]
        mdes.append(geo_mde(panel, treated=[0, 1, 2], test_days=TEST_DAYS))
        powers.append(geo_power(panel, treated=[0, 1, 2], lift=0.04, test_days=TEST_DAYS).power)
        sales.append(_blocks(pre)[_indices(cell)].sum() / 12 * 4)

    # then the design reports the worst MDE and power, and the cost of lifting both cells by that MDE
    shares = [pre[_indices(cell)].sum() / pre.sum() for cell in best.cells]
    assert best.mde == pytest.approx(max(mdes), rel=1e-12)
    assert best.power_at_lift == pytest.approx(min(powers), rel=1e-12)
    assert best.imbalance == pytest.approx(max(abs(share - 3 / REGIONS) for share in shares), abs=1e-12)
    assert best.treated_share == pytest.approx(sum(shares), rel=1e-12)
    assert best.expected_cost == pytest.approx(best.mde * sum(sales) / 2.0, rel=1e-12)


def test_without_lift_or_iroas_power_and_cost_are_none_and_a_huge_lift_has_power_one(market):
    # given the market
    _, pre = market

    # when designs are searched without a lift or iROAS, and for a lift far beyond the MDE
    plain = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS)[0]
    huge = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, lift=1.0)[0]

    # then there is nothing to report for the first, and the second's power is 1, not NaN
    assert plain.power_at_lift is None
    assert plain.expected_cost is None
    assert huge.power_at_lift == pytest.approx(1.0)


# --- Reproducible and fast -----------------------------------------------------------------------------------------


def test_the_search_is_deterministic_for_a_seed(market):
    # given the market
    _, pre = market

    # when the search is run twice with one seed
    first = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, seed=42, top=20)
    again = geo_designs(pre, NAMES, n_treated=N_TREATED, test_days=TEST_DAYS, seed=42, top=20)

    # then it finds the same designs
    assert first == again


def test_200_candidates_of_20_regions_take_well_under_two_seconds():
    # given 20 regions
    rng = np.random.default_rng(3)
    pre = regional_sales(rng, rng.lognormal(math.log(2_000.0), 0.7, 20))
    names = [f"r{index}" for index in range(20)]
    geo_designs(pre, names, n_treated=10, test_days=TEST_DAYS, candidates=10)  # warm caches

    # when 200 candidates, half of them treated, are searched
    start = time.perf_counter()
    designs = geo_designs(pre, names, n_treated=10, test_days=TEST_DAYS, candidates=200)
    elapsed = time.perf_counter() - start

    # then it takes well under two seconds
    assert len(designs) == 5
    assert elapsed < 0.5


def test_importing_design_loads_no_django():
    # given a fresh interpreter

    # when it imports the design module
    probe = "import sys, campaigns.measure.design; print(any(m.startswith('django') for m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    # then Django was never imported
    assert output.strip() == "False"


# --- Bad input -----------------------------------------------------------------------------------------------------


def _pre(regions: int = 6, days: int = 28) -> np.ndarray:
    return np.random.default_rng(1).lognormal(5.0, 0.3, (regions, days))


def _with_row(index: int, value: float) -> np.ndarray:
    pre = _pre()
    pre[index] = value
    return pre


def _with_cell(value: float) -> np.ndarray:
    pre = _pre()
    pre[2, 5] = value
    return pre


SIX = ("a", "b", "c", "d", "e", "f")
OK = {"n_treated": 2, "test_days": 14}


def _design(pre=None, regions=SIX, **params):
    return geo_designs(_pre() if pre is None else pre, regions, **{**OK, **params})


BAD_INPUT = [
    ("regions mismatch", lambda: _design(regions=SIX[:5]), "regions", "names 5 regions but pre has 6 rows"),
    ("regions repeated", lambda: _design(regions=("a", "b", "c", "a", "e", "f")), "regions", "'a' is listed twice"),
    ("unknown include", lambda: _design(include=["z"]), "include", "'z' is not one of the regions"),
    ("unknown exclude", lambda: _design(exclude=["a", "y"]), "exclude", "'y' is not one of the regions"),
    ("include and exclude", lambda: _design(include=["b"], exclude=["b"]), "include", "'b' also excluded"),
    ("n_treated 0", lambda: _design(n_treated=0), "n_treated", "at least 1"),
    ("n_treated 1.5", lambda: _design(n_treated=1.5), "n_treated", "whole number"),
    ("cells 0", lambda: _design(cells=0), "cells", "at least 1"),
    ("no control", lambda: _design(n_treated=3, cells=2), "n_treated", "need 7 regions; 6 available"),
    ("excluded too many", lambda: _design(n_treated=2, cells=2, exclude=["a", "b"]), "n_treated", "4 available"),
    ("include too many", lambda: _design(n_treated=1, include=["a", "b"]), "include", "treats only 1"),
    ("pre too short", lambda: _design(pre=_pre(days=20)), "pre", "at least 21 days (3 blocks of 7 days)"),
    ("pre not a matrix", lambda: _design(pre=_pre()[0]), "pre", "regions × days"),
    ("pre NaN", lambda: _design(pre=_with_cell(np.nan)), "pre", "non-finite"),
    ("region without sales", lambda: _design(pre=_with_row(3, 0.0)), "pre", "region 'd' has no pre-period sales"),
    ("constant region", lambda: _design(pre=_with_row(1, 70.0)), "pre", "region 'b' has the same sales every day"),
    ("proportional", lambda: _design(pre=np.outer(np.arange(1.0, 7.0), _pre()[0])), "pre", "zero variance"),
    ("short test", lambda: _design(test_days=6), "test_days", "at least block_days (7)"),
    ("block_days 0", lambda: _design(block_days=0), "block_days", "whole number"),
    ("power 1", lambda: _design(power=1.0), "power", "between 0 and 1"),
    ("alpha 0", lambda: _design(alpha=0.0), "alpha", "between 0 and 1"),
    ("lift −1", lambda: _design(lift=-1.0), "lift", "above -1"),
    ("iroas 0", lambda: _design(iroas=0.0), "iroas", "positive"),
    ("target_share 1.5", lambda: _design(target_share=1.5), "target_share", "between 0 and 1"),
    ("candidates 0", lambda: _design(candidates=0), "candidates", "at least 1"),
    ("top 0", lambda: _design(top=0), "top", "at least 1"),
]


@pytest.mark.parametrize(("call", "argument", "says"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_its_argument(call, argument, says):
    # given a design asked with one bad argument

    # when it is searched, then it fails with a message that starts with that argument and says what is wrong
    with pytest.raises(ValueError, match=rf"^{argument}: ") as error:
        call()
    assert says in str(error.value)
