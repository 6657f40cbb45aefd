"""Geo readout by synthetic control with conformal inference (Chernozhukov, Wüthrich & Zhu, "An exact and robust
conformal inference method for counterfactual and synthetic controls", JASA 2021). Pure functions: no Django.

The treated regions' daily sales are matched by a weighted mix of control regions (weights ≥ 0 summing to 1, plus
an intercept, on series scaled by their pre-period means), which follows a treated group that no single control
or the sum of all controls tracks. Inference needs no model of the noise: under the null "the lift is θ", the
test days' treated sales divided by (1 + θ) are what would have happened without the ads, the mix is refitted on
every day with the null imposed, and the residuals are exchangeable over time. The p-value ranks the test window's
|sum of residuals| among all circular shifts of the series (moving blocks, which keep day-to-day dependence); the
confidence interval is every θ not rejected. The DiD readout (`geo.did_lift`) stays the default; this one is the
answer when the treated regions do not move like the controls' total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from campaigns.measure.geo import TEST_NOT_FINITE, TEST_SHAPE, _check_pre, _treated_mask
from campaigns.measure.power import _check_probability

MIN_PRE_DAYS = 28
# The simplex constraint Σw = 1 enters NNLS as one heavily weighted extra row.
SIMPLEX_WEIGHT = 1e3
SEARCH_STEP = 0.02  # first step of the interval search, as a relative lift
BISECTIONS = 30

PRE_TOO_SHORT = "pre: synthetic control needs at least {need} days of pre-period; got {days}"
TEST_TOO_SHORT = "test: needs at least one day; got none"
TOO_FEW_DAYS = ("pre: with {days} days in all, the smallest p-value a conformal test can reach is 1/{days}, above "
                "alpha = {alpha}; at least {need} days are needed")
NO_SALES = "pre: the {group} regions have no pre-period sales to match"


@dataclass(frozen=True)
class SyntheticReadout:
    lift: float  # relative: treated test sales / synthetic counterfactual − 1
    interval: tuple[float, float]  # every lift the conformal test does not reject at alpha
    p_value: float  # of "no lift"
    weights: dict[int, float]  # control region index → weight (those above 0.1 %)
    pre_fit: float  # relative RMSE of the synthetic control over the pre-period
    treated: np.ndarray  # treated daily sales over pre + test
    counterfactual: np.ndarray  # the synthetic control's daily sales (treated scale) over pre + test
    incremental_sales: float  # over the test days


def synthetic_readout(pre: np.ndarray, test: np.ndarray, *, treated: Sequence[int] | np.ndarray,
                      alpha: float = 0.05) -> SyntheticReadout:
    """Read a geo test out by synthetic control: `pre` and `test` are regions × days of sales, `treated` the treated
    regions' indices (one test cell; the rest are the donor pool)."""
    _check_probability("alpha", alpha)
    pre = _check_pre(pre, 1)
    test = np.asarray(test, dtype=float)
    if test.ndim != 2 or test.shape[0] != pre.shape[0]:
        raise ValueError(TEST_SHAPE.format(pre=pre.shape, test=test.shape))
    if test.shape[1] < 1:
        raise ValueError(TEST_TOO_SHORT)
    if not np.all(np.isfinite(test)):
        raise ValueError(TEST_NOT_FINITE)
    if pre.shape[1] < MIN_PRE_DAYS:
        raise ValueError(PRE_TOO_SHORT.format(need=MIN_PRE_DAYS, days=pre.shape[1]))
    days = pre.shape[1] + test.shape[1]
    need = math.ceil(1.0 / alpha) + 1
    if days < need:
        raise ValueError(TOO_FEW_DAYS.format(days=days, alpha=alpha, need=need))
    mask = _treated_mask(treated, pre.shape[0])
    panel = _Panel.of(pre, test, mask)
    fitted = _fit(panel.y_pre(), panel.x[:, : panel.pre_days])
    counterfactual = fitted.predict(panel.x)
    post = slice(panel.pre_days, None)
    lift = float(panel.y[post].sum() / counterfactual[post].sum() - 1.0)
    low, high = _interval(panel, lift, alpha)
    pre_resid = panel.y[: panel.pre_days] - counterfactual[: panel.pre_days]
    controls = np.flatnonzero(~mask)
    return SyntheticReadout(
        lift=lift, interval=(low, high), p_value=_p_value(panel, 0.0),
        weights={int(controls[j]): float(w) for j, w in enumerate(fitted.weights) if w > 1e-3},
        pre_fit=float(np.sqrt(np.mean(pre_resid ** 2))),
        treated=panel.y * panel.scale, counterfactual=counterfactual * panel.scale,
        incremental_sales=float((panel.y[post] - counterfactual[post]).sum() * panel.scale),
    )


@dataclass(frozen=True)
class _Panel:
    """The treated group's daily sales `y` and each control's `x` (controls × days), both over pre + test and
    divided by their pre-period means (`scale`: the treated one), so weights mix shapes, not sizes."""

    y: np.ndarray
    x: np.ndarray
    pre_days: int
    scale: float

    @classmethod
    def of(cls, pre: np.ndarray, test: np.ndarray, mask: np.ndarray) -> _Panel:
        sales = np.concatenate([pre, test], axis=1)
        y, x = sales[mask].sum(axis=0), sales[~mask]
        y_mean, x_mean = y[: pre.shape[1]].mean(), x[:, : pre.shape[1]].mean(axis=1)
        if y_mean <= 0:
            raise ValueError(NO_SALES.format(group="treated"))
        if np.all(x_mean <= 0):
            raise ValueError(NO_SALES.format(group="control"))
        x = x[x_mean > 0] / x_mean[x_mean > 0, None]  # a control without pre sales cannot be matched on
        return cls(y / y_mean, x, pre.shape[1], float(y_mean))

    def y_pre(self) -> np.ndarray:
        return self.y[: self.pre_days]

    def under_null(self, lift: float) -> np.ndarray:
        """Treated sales with the test days' lift taken out: what the null says happened without the ads."""
        out = self.y.copy()
        out[self.pre_days:] /= 1.0 + lift
        return out


@dataclass(frozen=True)
class _Fit:
    weights: np.ndarray
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + self.weights @ x


def _fit(y: np.ndarray, x: np.ndarray) -> _Fit:
    """Least squares of y on the controls with weights ≥ 0 summing to 1 and a free intercept (demeaned)."""
    y_mean, x_mean = y.mean(), x.mean(axis=1)
    design = np.vstack([(x - x_mean[:, None]).T, np.full(x.shape[0], SIMPLEX_WEIGHT)])
    target = np.append(y - y_mean, SIMPLEX_WEIGHT)
    weights, _ = nnls(design, target, maxiter=50 * x.shape[0])
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(x.shape[0], 1.0 / x.shape[0])
    return _Fit(weights, float(y_mean - weights @ x_mean))


def _p_value(panel: _Panel, lift: float) -> float:
    """Conformal p-value of "the lift is `lift`": the share of circular shifts whose test-window |Σ residuals| is
    at least the observed one (the identity shift included, so it is never 0)."""
    y = panel.under_null(lift)
    resid = y - _fit(y, panel.x).predict(panel.x)
    days, window = resid.size, resid.size - panel.pre_days
    # Shift j puts days j+pre_days … j+days−1 (mod days) in the test window: sums from a doubled cumulative sum.
    doubled = np.concatenate([[0.0], np.cumsum(np.concatenate([resid, resid]))])
    starts = (np.arange(days) + panel.pre_days) % days
    sums = np.abs(doubled[starts + window] - doubled[starts])
    return float(np.mean(sums >= sums[0] - 1e-12 * max(1.0, abs(sums[0]))))


def _interval(panel: _Panel, estimate: float, alpha: float) -> tuple[float, float]:
    """Every lift with p > alpha, searched outward from the estimate, then bisected to each edge. The set is an
    interval in practice (the statistic grows as θ moves away from the data); the edges are found to ~1e-6."""

    def accepted(lift: float) -> bool:
        return lift > -1.0 and _p_value(panel, lift) > alpha

    centre = estimate if accepted(estimate) else 0.0
    edges = []
    for direction in (-1.0, 1.0):
        inside, step = centre, SEARCH_STEP
        outside = centre + direction * step
        while accepted(outside):
            inside, step = outside, step * 2.0
            outside = centre + direction * step
            if direction < 0 and outside <= -1.0:
                outside = -1.0
                break
        for _ in range(BISECTIONS):
            middle = (inside + outside) / 2.0
            inside, outside = (middle, outside) if accepted(middle) else (inside, middle)
        edges.append(inside)
    return edges[0], edges[1]
