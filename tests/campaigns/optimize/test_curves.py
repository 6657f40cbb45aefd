"""Curves: the S-shaped Hill envelope (tangent point, concavity), and the piecewise-quadratic model the engines
share for Hill curves with k ≠ 1 (its error, and best spends that meet the price)."""

import subprocess
import sys

import numpy as np
import pytest

from campaigns.optimize import curves
from campaigns.optimize.curves import Curve


@pytest.mark.parametrize("k", [1.5, 2.0, 3.5])
def test_the_tangent_point_is_where_the_average_return_peaks(k):
    # given an S-shaped Hill curve
    curve = Curve("hill", 50_000.0, 10_000.0, k)

    # when its tangent point s* is found
    star = float(curves.tangent_point(10_000.0, k))

    # then curve(s*)/s* equals the slope there and beats every other average return
    assert curve.value(star) / star == pytest.approx(curve.derivative(star), rel=1e-12)
    grid = np.linspace(1.0, 100_000.0, 2_000)
    assert np.all(curves.value("hill", 50_000.0, 10_000.0, k, grid) / grid <= curve.value(star) / star + 1e-12)


def test_the_envelope_is_concave_above_the_curve_and_equal_past_the_tangent():
    # given an S-shaped curve on [0, 60k]
    s = np.linspace(0.0, 60_000.0, 601)
    star = float(curves.tangent_point(10_000.0, 2.5))

    # when its envelope is taken
    env = curves.envelope_value("hill", 50_000.0, 10_000.0, 2.5, s, 60_000.0)
    true = curves.value("hill", 50_000.0, 10_000.0, 2.5, s)

    # then it is concave, never below the curve, and the curve itself past s*
    assert np.all(np.diff(env, 2) <= 1e-6)
    assert np.all(env >= true - 1e-9)
    assert np.array_equal(env[s >= star], true[s >= star])


@pytest.mark.parametrize(("k", "bound"), [(0.5, 3e-3), (0.8, 2e-4), (1.5, 1e-4), (2.5, 1e-4), (4.0, 1e-4)])
def test_the_pq_model_stays_close_to_the_envelope(k, bound):
    # given Hill curves on ranges from a third of h to 50 h
    s_max = np.array([3_000.0, 50_000.0, 500_000.0])

    # when they are modelled piecewise-quadratically
    pq = curves.hill_pq(np.full(3, 5_000.0), np.full(3, 10_000.0), np.full(3, k), s_max)

    # then the model is concave (never flat) and within the bound (share of vmax) everywhere checked
    assert np.all((pq.ds > pq.de) | (pq.length == 0))
    assert np.all(pq.ds[:, 1:] <= pq.de[:, :-1])
    assert np.all(curves.pq_error(pq, np.full(3, 5_000.0), np.full(3, 10_000.0), np.full(3, k)) < bound)


def test_the_pq_best_spend_meets_the_price():
    # given a modelled Hill curve and prices inside its range of slopes
    pq = curves.hill_pq(np.full(3, 50_000.0), np.full(3, 10_000.0), np.full(3, 0.7), np.full(3, 80_000.0))
    ratio = np.array([0.5, 1.0, 2.0])

    # when the best spend at each price is read off the model
    spend, slope = pq.best_spend(ratio)

    # then the model's derivative there is the price, and spend falls as the price rises
    assert pq.derivative(spend) == pytest.approx(ratio, rel=1e-9)
    assert np.all(np.diff(spend) < 0)
    assert np.all(slope < 0)


def test_importing_the_optimizer_loads_no_cvxpy():
    # given a fresh interpreter
    probe = ("import sys, campaigns.optimize as o; from decimal import Decimal as D; "
             "p = o.Problem(cells=(o.Cell('a', ('x', 'a'), o.Curve('exp', 1e4, 1e3), margin_rate=0.5),), "
             "constraints=o.Constraints(budget=D('100'))); o.allocate(p); print('cvxpy' in sys.modules)")

    # when it imports the optimizer and makes a plan on the fast engine
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    # then cvxpy was never imported
    assert output.strip() == "False"
