"""Fit per-cell response curves (incremental sales vs daily spend) from history, with partial pooling per group.

Pooling runs up the hierarchy: all cells together give one shape, each group (the cells' parent node) is fitted on
its pooled points with that shape as its prior, and each cell is then fitted by MAP with log-normal priors centred
on its group's fit; a Laplace approximation gives posterior draws for `Cell.samples`.
Residuals are weighed by a noise sd that grows with expected sales (var = a·μ + b·μ², fitted per fit): daily sales
swing in proportion to their level, and equal weights let a few big days pull the curve's shape.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.signal import lfilter
from scipy.special import expit, logit

from campaigns.optimize.curves import FORMS, Curve, value

K_MIN, K_MAX = 0.5, 3.0
MIN_POINTS = 3
THIN_POINTS = 10
# Prior sd (log scale) of a cell around its group's curve (resized to the cell): a cell with tens of points moves
# away freely, a thin one borrows.
CELL_PRIOR_SD = 0.5
# The group's own prior is weak: it only keeps a pooled fit of unsaturated data from running off to infinity.
GROUP_PRIOR_SD = 2.0
TOP_PRIOR_SD = 1.0  # a group around the all-cells shape: loose enough that a group with data moves away freely
K_PRIOR_SD = 1.5  # on logit((k - K_MIN) / (K_MAX - K_MIN))
MAX_LOG_STEP = 30.0


@dataclass(frozen=True)
class Lag:
    """How a day's response is booked: `1 − later` on the day itself, `later` over the following days with
    geometric decay `decay` (day l ≥ 1 gets later·(1 − decay)·decay^(l−1)). later = decay = λ is the plain
    geometric lag (1 − λ)·λ^l; a small `later` with a slow `decay` is a conversion-date report's long tail."""

    later: float = 0.0
    decay: float = 0.0


NO_LAG = Lag()
LAG_BURN_IN = 7  # days at the start of each cell's history left out when the lags are compared
# Booking lags tried per group when the days are known.
LAGS = (NO_LAG, *(Lag(later, decay) for later in (0.25, 0.4, 0.5, 0.6, 0.75) for decay in (0.25, 0.5, 0.75, 0.85, 0.9)))

TOO_FEW_POINTS = "cell {cell!r} has {n} points and no group data to borrow from; at least 3 are needed"
UNKNOWN_FORM = "unknown curve form {form!r}; expected one of {forms}"
MIXED_DAYS = "either every observation names its day or none does"
BAD_INCREMENTALITY = "incrementality for cell {cell!r} must be positive, got {factor!r}"


@dataclass(frozen=True)
class FitResult:
    curve: Curve
    samples: list[dict[str, float]] = field(default_factory=list)
    n_points: int = 0
    rmse: float = 0.0
    pooled_from: str | None = None
    thin: bool = False
    lag: Lag = NO_LAG  # the group's booking lag: a day's response is booked over that day and later ones

    @property
    def carryover(self) -> float:
        """The share of a day's response booked on later days."""
        return self.lag.later


@dataclass(frozen=True)
class _Fit:
    theta: np.ndarray
    cov: np.ndarray
    rmse: float


def _k_to_z(k: float) -> float:
    p = np.clip((k - K_MIN) / (K_MAX - K_MIN), 1e-6, 1 - 1e-6)
    return float(logit(p))


def _z_to_k(z):
    return K_MIN + (K_MAX - K_MIN) * expit(z)


def _unpack(form: str, theta) -> tuple[float, float, float]:
    vmax, h = np.exp(np.clip(theta[:2], -MAX_LOG_STEP * 3, MAX_LOG_STEP * 3))
    k = float(_z_to_k(theta[2])) if form == "hill" else 1.0
    return float(vmax), float(h), k


def _predict(form: str, theta, s: np.ndarray) -> np.ndarray:
    vmax, h, k = _unpack(form, theta)
    return value(form, vmax, h, k, s)


@dataclass(frozen=True)
class _Points:
    """What one fit compares: spends `s` and observed sales `y`. With a booking `lag`, `s` is dense daily series
    (`segments`: one (start, end) per cell, days without a report row have spend 0) and a day's response f(s) is
    booked over that day and the next ones as `Lag` says; only the days in `observed` are compared. `weight` is
    1 / each point's noise sd (None: equal)."""

    s: np.ndarray
    y: np.ndarray
    lag: Lag = NO_LAG
    segments: tuple[tuple[int, int], ...] = ()
    observed: np.ndarray | None = None
    weight: np.ndarray | None = None

    def predict(self, form: str, theta) -> np.ndarray:
        daily = _predict(form, theta, self.s)
        later, decay = self.lag.later, self.lag.decay
        if not later:
            return daily if self.observed is None else daily[self.observed]
        booked = (1.0 - later) * daily
        for start, end in self.segments:
            tail = lfilter([1.0 - decay], [1.0, -decay], daily[start:end - 1])
            booked[start + 1:end] += later * tail
        return booked[self.observed]


def _residual(form: str, theta, pts: _Points) -> np.ndarray:
    resid = pts.predict(form, theta) - pts.y
    return resid if pts.weight is None else resid * pts.weight


@dataclass(frozen=True)
class _Prior:
    """Independent Gaussian priors on theta = (log vmax, log h[, logit k])."""

    mean: np.ndarray
    sd: np.ndarray

    def residual(self, theta: np.ndarray) -> np.ndarray:
        return (theta - self.mean) / self.sd


def _map_fit(form: str, pts: _Points, prior: _Prior, sigma: float, start: np.ndarray | None = None) -> np.ndarray:
    def residuals(theta):
        return np.concatenate([_residual(form, theta, pts) / sigma, prior.residual(theta)])

    x0 = prior.mean.copy() if start is None else start.copy()
    return least_squares(residuals, x0, method="trf", x_scale=1.0, max_nfev=2000).x


def _fit(form: str, pts: _Points, prior: _Prior, sigma: float | None, weighted: bool = True) -> _Fit:
    """MAP fit with noise that grows with the expected sales (quasi-likelihood): a first, equally weighted fit
    gives each point's expected value μ and residual r; var = a·μ + b·μ² is fitted to r² (a: the count noise of
    few orders, b: day-to-day multiplicative swings), and the final fit weighs each residual by 1 / its sd."""
    first = _fit_weighted(form, pts, prior, sigma)
    if not weighted or pts.y.size < 10:
        return first
    scale = _noise_scale(pts.predict(form, first.theta), pts.y)
    if scale is None:
        return first
    return _fit_weighted(form, replace(pts, weight=1.0 / scale), prior, sigma, start=first.theta)


def _noise_scale(expected: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Each point's noise sd under var = a·μ + b·μ² (a, b ≥ 0, fitted to the squared residuals), floored at a
    tenth of the typical sd so a near-zero prediction cannot claim near-infinite weight."""
    mu = np.maximum(expected, 0.0)
    design = np.column_stack([mu, mu ** 2])
    if not np.any(design):
        return None
    coef, _ = nnls(design, (y - expected) ** 2)
    if not np.any(coef > 0):
        return None
    sd = np.sqrt(design @ coef)
    typical = float(np.sqrt(np.mean(sd ** 2)))
    return np.maximum(sd, 0.1 * typical) if typical > 0 else None


def _fit_weighted(form: str, pts: _Points, prior: _Prior, sigma: float | None,
                  start: np.ndarray | None = None) -> _Fit:
    """MAP fit; with no `sigma` the noise level is estimated from the residuals (one refit)."""
    y = pts.y if pts.weight is None else pts.y * pts.weight
    floor = max(1e-6 * float(np.mean(np.abs(y))) if y.size else 0.0, 1e-12)
    n_par = prior.mean.size
    estimate = sigma is None
    if estimate:
        sigma = max(float(np.std(y)) if y.size > 1 else 1.0, floor)
        theta = _map_fit(form, pts, prior, sigma, start)
        resid = _residual(form, theta, pts)
        sigma = max(float(np.sqrt(np.sum(resid ** 2) / max(y.size - n_par, 1))), floor)
    theta = _map_fit(form, pts, prior, sigma, start)
    resid = _residual(form, theta, pts)
    rmse = float(np.sqrt(np.mean((pts.predict(form, theta) - pts.y) ** 2))) if y.size else 0.0  # in sales units
    if estimate and y.size > n_par:
        # Re-estimate the noise from this cell's own residuals so the posterior width reflects its own scatter.
        sigma = max(float(np.sqrt(np.sum(resid ** 2) / (y.size - n_par))), floor)

    def residuals(theta):
        return np.concatenate([_residual(form, theta, pts) / sigma, prior.residual(theta)])

    jac = _jacobian(residuals, theta)
    cov = np.linalg.pinv(jac.T @ jac)
    return _Fit(theta=theta, cov=(cov + cov.T) / 2, rmse=rmse)


def _jacobian(fun, theta: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    base = fun(theta)
    cols = []
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        cols.append((fun(theta + step) - fun(theta - step)) / (2 * eps))
    return np.column_stack(cols) if cols else np.zeros((base.size, 0))


def _initial(form: str, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    vmax0 = max(1.5 * float(np.max(y)) if y.size else 1.0, 1e-9)
    h0 = max(float(np.median(s)) if s.size else 1.0, 1e-9)
    theta = [np.log(vmax0), np.log(h0)]
    if form == "hill":
        theta.append(_k_to_z(1.0))
    return np.array(theta)


def _prior_sd(form: str, sd: float) -> np.ndarray:
    return np.array([sd, sd, K_PRIOR_SD] if form == "hill" else [sd, sd])


def _draws(form: str, fit: _Fit, rng: np.random.Generator, draws: int) -> list[dict[str, float]]:
    if draws <= 0:
        return []
    thetas = rng.multivariate_normal(fit.theta, fit.cov, size=draws, method="eigh")
    out = []
    for theta in thetas:
        vmax, h, k = _unpack(form, theta)
        out.append({"vmax": vmax, "h": h, "k": k})
    return out


def fit_cells(
    observations: Iterable[tuple[str, str, float, float] | tuple[str, str, float, float, int]],
    *,
    form: str = "hill",
    incrementality: Mapping[str, float] | None = None,
    rng: np.random.Generator | int | None = None,
    draws: int = 200,
) -> dict[str, FitResult]:
    """Fit one curve per cell from `(cell_id, group_id, daily spend, sales[, day])` points; sales are scaled by
    the cell's incrementality factor (attributed → incremental) before fitting.

    With days (any consecutive integers, e.g. date ordinals), each group also gets a booking lag chosen from LAGS
    by its pooled fit: networks that book sales on the conversion date spread a day's response over the next days
    (Criteo: about half later, some of it weeks later), which a same-day comparison would read as noise and fit
    as a flatter curve. The curve is then a day's total response, wherever it was booked."""
    if form not in FORMS:
        raise ValueError(UNKNOWN_FORM.format(form=form, forms=FORMS))
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    incrementality = incrementality or {}

    cells: dict[str, list[tuple[float, float]]] = defaultdict(list)
    days: dict[str, list[int]] = defaultdict(list)
    group_of: dict[str, str] = {}
    for cell_id, group_id, spend, sales, *day in observations:
        factor = float(incrementality.get(cell_id, 1.0))
        if not factor > 0:
            raise ValueError(BAD_INCREMENTALITY.format(cell=cell_id, factor=factor))
        cells[cell_id].append((float(spend), float(sales) * factor))
        if day:
            days[cell_id].append(int(day[0]))
        group_of.setdefault(cell_id, group_id)
    if days and any(len(days[c]) != len(points) for c, points in cells.items()):
        raise ValueError(MIXED_DAYS)

    groups: dict[str, list[str]] = defaultdict(list)
    for cell_id, group_id in group_of.items():
        groups[group_id].append(cell_id)

    for cell_id, points in cells.items():
        others = sum(len(cells[c]) for c in groups[group_of[cell_id]] if c != cell_id)
        if len(points) < MIN_POINTS and others < MIN_POINTS:
            raise ValueError(TOO_FEW_POINTS.format(cell=cell_id, n=len(points)))

    # Cells of one group differ in scale (a best-seller spends and sells ten times a niche SKU), so pooling is done
    # on shapes: each cell's spend and sales are divided by its own means, the group is fitted on those normalized
    # points, and every cell's prior is the group's normalized curve (rescaled back to the cell's units at the end).
    # This assumes a cell's typical spend tracks its size; a thin cell seen only far below its saturation point
    # gets a prior that saturates too early (see test_fit.py).
    scales = {cell_id: _scale(np.array(points)) for cell_id, points in cells.items()}
    normalized = {c: np.array(points) / np.array(scales[c]) for c, points in cells.items()}
    results: dict[str, FitResult] = {}
    # One level up: every cell's normalized points together give the shape each group is pulled towards, so a
    # group with little data (a new placement, a network with few SKUs) borrows from all the others.
    everything = np.concatenate(list(normalized.values()))
    top = _fit(form, _Points(everything[:, 0], everything[:, 1]),
               _Prior(_initial(form, everything[:, 0], everything[:, 1]), _prior_sd(form, GROUP_PRIOR_SD)),
               sigma=None, weighted=False) if len(groups) > 1 else None
    for group_id, members in groups.items():
        pooled = np.concatenate([normalized[c] for c in members])
        initial = (_Prior(top.theta, _prior_sd(form, TOP_PRIOR_SD)) if top is not None else
                   _Prior(_initial(form, pooled[:, 0], pooled[:, 1]), _prior_sd(form, GROUP_PRIOR_SD)))
        candidates = LAGS if days else (NO_LAG,)
        # The lag is chosen on equal weights, so every candidate is scored on the same residual scale, and without
        # each cell's first week, whose sales may include the tail of spend from before the history starts.
        fits = {lag: _fit(form, _series(members, normalized, days, lag, skip=LAG_BURN_IN), initial, sigma=None,
                          weighted=False) for lag in candidates}
        lag = min(fits, key=lambda candidate: fits[candidate].rmse)
        group_fit = _fit(form, _series(members, normalized, days, lag), initial, sigma=None)
        group_sigma = max(group_fit.rmse, 1e-12)
        for cell_id in members:
            spend_scale, sales_scale = scales[cell_id]
            n = len(cells[cell_id])
            # Thin cells keep the group's noise level: a handful of residuals says little about the scatter.
            sigma = None if n >= THIN_POINTS else group_sigma
            fit = _fit(form, _series([cell_id], normalized, days, lag),
                       _Prior(group_fit.theta, _prior_sd(form, CELL_PRIOR_SD)), sigma=sigma)
            vmax, h, k = _unpack(form, fit.theta)
            results[cell_id] = FitResult(
                curve=Curve(form, vmax * sales_scale, h * spend_scale, k),
                samples=[{"vmax": d["vmax"] * sales_scale, "h": d["h"] * spend_scale, "k": d["k"]}
                         for d in _draws(form, fit, rng, draws)],
                n_points=n,
                rmse=fit.rmse * sales_scale,
                pooled_from=group_id,
                thin=n < THIN_POINTS,
                lag=lag,
            )
    return results


def _series(members: list[str], normalized: dict[str, np.ndarray], days: dict[str, list[int]],
            lag: Lag, skip: int = 0) -> _Points:
    """The cells' points for one fit: as given, or (with days) as dense daily series, one segment per cell."""
    if not days:
        pooled = np.concatenate([normalized[c] for c in members])
        return _Points(pooled[:, 0], pooled[:, 1])
    spends, observed, sales, segments, start = [], [], [], [], 0
    for cell_id in members:
        day = np.asarray(days[cell_id])
        order = np.argsort(day, kind="stable")
        index = day[order] - day[order][0]
        dense = np.zeros(int(index[-1]) + 1)
        np.add.at(dense, index, normalized[cell_id][order, 0])
        seen = np.zeros(dense.size, dtype=bool)
        seen[index] = True
        if skip and dense.size > 2 * skip:
            seen[:skip] = False
        booked = np.zeros(dense.size)
        np.add.at(booked, index, normalized[cell_id][order, 1])
        spends.append(dense)
        observed.append(seen)
        sales.append(booked[seen])
        segments.append((start, start + dense.size))
        start += dense.size
    return _Points(np.concatenate(spends), np.concatenate(sales), lag, tuple(segments),
                   np.concatenate(observed))


def _scale(points: np.ndarray) -> tuple[float, float]:
    """A cell's typical daily spend and sales (means over its days with spend), 1 where there is none."""
    spending = points[points[:, 0] > 0]
    spend = float(np.mean(spending[:, 0])) if len(spending) else 1.0
    sales = float(np.mean(spending[:, 1])) if len(spending) else 0.0
    return (spend if spend > 0 else 1.0), (sales if sales > 0 else 1.0)

