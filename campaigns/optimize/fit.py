"""Fit per-cell response curves (incremental sales vs daily spend) from history, with partial pooling per group.

Each group (the cells' parent node) is fitted first on its pooled points; each cell is then fitted by MAP with
log-normal priors centred on its group's fit, and a Laplace approximation gives posterior draws for `Cell.samples`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
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
K_PRIOR_SD = 1.5  # on logit((k - K_MIN) / (K_MAX - K_MIN))
MAX_LOG_STEP = 30.0
CARRYOVERS = (0.0, 0.25, 0.5, 0.75)  # geometric lags tried per group when the days are known

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
    carryover: float = 0.0  # the group's geometric lag: a day's response is booked over that day and later ones


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
    """What one fit compares: spends `s` and observed sales `y`. With a `carryover` λ, `s` is dense daily series
    (`segments`: one (start, end) per cell, days without a report row have spend 0) and a day's response f(s) is
    booked as (1 − λ)·λ^l on the l-th day after; only the days in `observed` are compared."""

    s: np.ndarray
    y: np.ndarray
    carryover: float = 0.0
    segments: tuple[tuple[int, int], ...] = ()
    observed: np.ndarray | None = None

    def predict(self, form: str, theta) -> np.ndarray:
        daily = _predict(form, theta, self.s)
        if not self.carryover:
            return daily if self.observed is None else daily[self.observed]
        booked = np.empty_like(daily)
        for start, end in self.segments:
            booked[start:end] = lfilter([1.0 - self.carryover], [1.0, -self.carryover], daily[start:end])
        return booked[self.observed]


def _residual(form: str, theta, pts: _Points) -> np.ndarray:
    return pts.predict(form, theta) - pts.y


@dataclass(frozen=True)
class _Prior:
    """Independent Gaussian priors on theta = (log vmax, log h[, logit k])."""

    mean: np.ndarray
    sd: np.ndarray

    def residual(self, theta: np.ndarray) -> np.ndarray:
        return (theta - self.mean) / self.sd


def _map_fit(form: str, pts: _Points, prior: _Prior, sigma: float) -> np.ndarray:
    def residuals(theta):
        return np.concatenate([_residual(form, theta, pts) / sigma, prior.residual(theta)])

    return least_squares(residuals, prior.mean.copy(), method="trf", x_scale=1.0, max_nfev=2000).x


def _fit(form: str, pts: _Points, prior: _Prior, sigma: float | None) -> _Fit:
    """MAP fit; with no `sigma` the noise level is estimated from the residuals (one refit)."""
    y = pts.y
    floor = max(1e-6 * float(np.mean(np.abs(y))) if y.size else 0.0, 1e-12)
    n_par = prior.mean.size
    estimate = sigma is None
    if estimate:
        sigma = max(float(np.std(y)) if y.size > 1 else 1.0, floor)
        theta = _map_fit(form, pts, prior, sigma)
        resid = _residual(form, theta, pts)
        sigma = max(float(np.sqrt(np.sum(resid ** 2) / max(y.size - n_par, 1))), floor)
    theta = _map_fit(form, pts, prior, sigma)
    resid = _residual(form, theta, pts)
    rmse = float(np.sqrt(np.mean(resid ** 2))) if y.size else 0.0
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

    With days (any consecutive integers, e.g. date ordinals), each group also gets a geometric carryover λ chosen
    from CARRYOVERS by its pooled fit: networks that book sales on the conversion date spread a day's response over
    the next days, which a same-day comparison would read as noise and fit as a flatter curve. The curve is then
    a day's total response, wherever it was booked."""
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
    for group_id, members in groups.items():
        pooled = np.concatenate([normalized[c] for c in members])
        initial = _Prior(_initial(form, pooled[:, 0], pooled[:, 1]), _prior_sd(form, GROUP_PRIOR_SD))
        candidates = CARRYOVERS if days else (0.0,)
        fits = {lag: _fit(form, _series(members, normalized, days, lag), initial, sigma=None) for lag in candidates}
        carryover = min(fits, key=lambda lag: fits[lag].rmse)
        group_fit = fits[carryover]
        group_sigma = max(group_fit.rmse, 1e-12)
        for cell_id in members:
            spend_scale, sales_scale = scales[cell_id]
            n = len(cells[cell_id])
            # Thin cells keep the group's noise level: a handful of residuals says little about the scatter.
            sigma = None if n >= THIN_POINTS else group_sigma
            fit = _fit(form, _series([cell_id], normalized, days, carryover),
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
                carryover=carryover,
            )
    return results


def _series(members: list[str], normalized: dict[str, np.ndarray], days: dict[str, list[int]],
            carryover: float) -> _Points:
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
        booked = np.zeros(dense.size)
        np.add.at(booked, index, normalized[cell_id][order, 1])
        spends.append(dense)
        observed.append(seen)
        sales.append(booked[seen])
        segments.append((start, start + dense.size))
        start += dense.size
    return _Points(np.concatenate(spends), np.concatenate(sales), carryover, tuple(segments),
                   np.concatenate(observed))


def _scale(points: np.ndarray) -> tuple[float, float]:
    """A cell's typical daily spend and sales (means over its days with spend), 1 where there is none."""
    spending = points[points[:, 0] > 0]
    spend = float(np.mean(spending[:, 0])) if len(spending) else 1.0
    sales = float(np.mean(spending[:, 1])) if len(spending) else 0.0
    return (spend if spend > 0 else 1.0), (sales if sales > 0 else 1.0)
