"""Response curves (incremental sales as a function of spend), their derivatives and inverse derivatives, the
concave envelope of S-shaped Hill curves, and the piecewise-quadratic model both engines share for curves
without a closed-form inverse derivative.

Forms:
- `exp`:  vmax * (1 - exp(-s / h))            concave; inverse derivative in closed form.
- `hill`: vmax * s^k / (s^k + h^k)             concave for k <= 1; for k = 1 the inverse derivative is closed
  form. For k > 1 the curve is S-shaped: it is convex below its inflection point, so the optimizer works on its
  concave envelope on [0, s_max] — the line from the origin to the tangent point s* = h * (k - 1)^(1/k) (where
  curve(s)/s is largest), then the curve itself — and every plan is also valued on the TRUE curve.

The piecewise-quadratic (PQ) model: breakpoints x_0 = 0 < ... < x_K = s_max with the derivative linear inside
each segment (from `ds` at its start to `de` at its end, `ds > de >= next ds`), i.e. a concave C^0 curve that
is quadratic per segment. Its derivative takes the curve's true derivative at every breakpoint, except the first
segment, which is the envelope's line (k > 1) or the chord to the first breakpoint (k < 1, where the true
derivative at 0 is infinite). A line has a constant derivative; it is tilted by one part in a million
(`FLAT_TILT`) so that every cell's best spend is a continuous function of the price. `pq_error` measures the
model's largest gap to the curve (or the envelope) on a fine grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FORMS = ("exp", "hill")
FLAT_TILT = 1e-6
PQ_SEGMENTS = 48


@dataclass(frozen=True)
class Curve:
    """One leaf cell's response: expected incremental sales ($) for a spend ($) over the planning period."""

    form: str
    vmax: float
    h: float
    k: float = 1.0

    def value(self, spend: float) -> float:
        return float(value(self.form, self.vmax, self.h, self.k, np.asarray(spend, dtype=float)))

    def derivative(self, spend: float) -> float:
        return float(derivative(self.form, self.vmax, self.h, self.k, np.asarray(spend, dtype=float)))

    @property
    def concave(self) -> bool:
        return self.form == "exp" or self.k <= 1.0

    @property
    def closed_form(self) -> bool:
        """Whether the engines use the curve itself (exp, Hill k = 1) rather than the PQ model."""
        return self.form == "exp" or self.k == 1.0

    def scaled(self, factor: float) -> Curve:
        return Curve(self.form, self.vmax * factor, self.h, self.k)


def value(form: str, vmax, h, k, s):
    """The true curve at spend `s` (arrays broadcast)."""
    s = np.maximum(s, 0.0)
    if form == "exp":
        return vmax * -np.expm1(-s / h)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.power(s / h, k)
        return np.where(s > 0, vmax * ratio / (1.0 + ratio), 0.0)


def derivative(form: str, vmax, h, k, s):
    s = np.maximum(s, 0.0)
    if form == "exp":
        return vmax / h * np.exp(-s / h)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = s / h
        xk = np.power(x, k)
        d = vmax * k * np.power(x, k - 1.0) / (h * (1.0 + xk) ** 2)
        at_zero = np.where(np.asarray(k) < 1.0, np.inf, np.where(np.asarray(k) == 1.0, vmax / h, 0.0))
        return np.where(s > 0, d, at_zero)


def tangent_point(h, k):
    """Where curve(s)/s peaks for Hill k > 1: s* = h * (k - 1)^(1/k) (0 for a concave curve)."""
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(k > 1.0, h * np.power(np.maximum(k - 1.0, 0.0), 1.0 / k), 0.0)


def envelope_value(form: str, vmax, h, k, s, s_max):
    """The concave envelope on [0, s_max] (the curve itself when it is concave)."""
    s = np.asarray(s, dtype=float)
    if form == "exp":
        return value(form, vmax, h, k, s)
    star = np.minimum(tangent_point(h, k), s_max)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(star > 0, value(form, vmax, h, k, star) / star, 0.0)
    return np.where(s < star, slope * s, value(form, vmax, h, k, s))


def saturation_spend(form: str, h, k, share: float = 1e-9):
    """The spend at which the curve reaches (1 - share) of vmax: beyond it nothing is left to buy."""
    if form == "exp":
        return h * math.log(1.0 / share)
    return h * np.power((1.0 - share) / share, 1.0 / np.asarray(k, dtype=float))


# --- the piecewise-quadratic model ------------------------------------------------------------------------------

@dataclass
class PQ:
    """Per-row segments: `x` (m, K+1) breakpoints, `ds`/`de` (m, K) derivative at each segment's start/end."""

    x: np.ndarray
    ds: np.ndarray
    de: np.ndarray

    def __post_init__(self) -> None:
        self.length = np.diff(self.x, axis=1)
        with np.errstate(divide="ignore"):
            self.inv_drop = 1.0 / (self.ds - self.de)
        self.curv = (self.ds - self.de) / np.where(self.length > 0, 2.0 * self.length, 1.0)
        full = 0.5 * (self.ds + self.de) * self.length
        self.base = np.concatenate([np.zeros((len(self.x), 1)), np.cumsum(full, axis=1)], axis=1)

    def rows(self, index: np.ndarray) -> PQ:
        return PQ(self.x[index], self.ds[index], self.de[index])

    def scaled(self, factor: np.ndarray) -> PQ:
        """The model of `factor * curve` (a period's seasonality)."""
        return PQ(self.x, self.ds * factor[:, None], self.de * factor[:, None])

    def value(self, s: np.ndarray) -> np.ndarray:
        u = np.clip(s[:, None] - self.x[:, :-1], 0.0, self.length)
        return np.sum(self.ds * u - self.curv * u * u, axis=1)

    def derivative(self, s: np.ndarray) -> np.ndarray:
        """The derivative just right of `s` (left of it at the last breakpoint)."""
        inside = (s[:, None] >= self.x[:, :-1]) & (s[:, None] < self.x[:, 1:])
        seg = np.where(inside.any(axis=1), inside.argmax(axis=1), self.x.shape[1] - 2)
        rows = np.arange(len(s))
        u = np.clip(s - self.x[rows, seg], 0.0, self.length[rows, seg])
        return self.ds[rows, seg] - 2.0 * self.curv[rows, seg] * u

    def best_spend(self, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """argmax_s curve(s) − ratio·s on [0, x_K] (each segment filled as far as its derivative > ratio), and
        its derivative with respect to log(ratio)."""
        with np.errstate(invalid="ignore", over="ignore"):
            share = (self.ds - ratio[:, None]) * self.inv_drop
            fill = np.clip(share, 0.0, 1.0)
        fill = np.where(np.isnan(fill), (self.ds > ratio[:, None]).astype(float), fill)
        inside = (share > 0) & (share < 1)
        with np.errstate(invalid="ignore", over="ignore"):
            slope = -ratio * np.sum(np.where(inside, self.length * self.inv_drop, 0.0), axis=1)
        return np.sum(fill * self.length, axis=1), np.nan_to_num(slope)


def _grid(start, stop, scale, segments: int) -> np.ndarray:
    """`segments` + 1 points from start to stop, geometric in (s + scale): dense where the curve bends."""
    j = np.arange(segments + 1) / segments
    lo, hi = start + scale, stop + scale
    return lo[:, None] * np.power((hi / lo)[:, None], j[None, :]) - scale[:, None]


def hill_pq(vmax, h, k, s_max, segments: int = PQ_SEGMENTS) -> PQ:
    """The PQ model of Hill curves (any k) on [0, s_max]; rows with s_max <= 0 get an empty model.

    Each segment's mean derivative is its secant, so the model meets the envelope at every breakpoint; the
    derivative's tilt inside the segment follows the curve's (bounded by its true derivatives at both ends).
    """
    vmax, h, k = (np.asarray(a, dtype=float) for a in (vmax, h, k))
    s_max = np.maximum(np.asarray(s_max, dtype=float), 0.0)
    m = len(vmax)
    star = np.minimum(tangent_point(h, k), s_max)
    s_shaped = star > 0
    # Concave rows: a grid from 0, very fine near 0 when the derivative there is infinite (k < 1).
    # S-shaped rows: the envelope's line to s*, then a grid from s*.
    scale = np.where(k < 1.0, h * 1e-3, h / 10.0)
    x = _grid(np.zeros(m), s_max, scale, segments)
    x[s_shaped, 1:] = _grid(star, s_max, scale, segments - 1)[s_shaped]
    x[:, 0] = 0.0
    x = np.maximum.accumulate(x, axis=1)
    x[:, -1] = s_max
    f = envelope_value("hill", vmax[:, None], h[:, None], k[:, None], x, s_max[:, None])
    g = derivative("hill", vmax[:, None], h[:, None], k[:, None], x)
    g[s_shaped, 0] = g[s_shaped, 1]  # the envelope's line has the tangent's slope
    length = np.diff(x, axis=1)
    empty = length <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        secant = np.where(empty, 0.0, np.diff(f, axis=1) / np.where(empty, 1.0, length))
        half = np.minimum(g[:, :-1] - secant, secant - g[:, 1:])
    half = np.clip(np.nan_to_num(half, nan=0.0, posinf=0.0), 0.0, None)
    half = np.maximum(half, 0.5 * FLAT_TILT * secant)  # never flat: best spend stays continuous in the price
    ds, de = secant + half, secant - half
    ds[empty], de[empty] = 0.0, 0.0
    for j in range(1, segments):  # concave: no segment starts steeper than the previous one ended
        ds[:, j] = np.minimum(ds[:, j], de[:, j - 1])
        de[:, j] = np.minimum(de[:, j], ds[:, j] * (1.0 - FLAT_TILT))
    return PQ(x, ds, de)


def pq_error(pq: PQ, vmax, h, k) -> np.ndarray:
    """Per row, the largest |model − envelope| at the breakpoints and at 10/25/50/75% of every segment, as a
    share of vmax."""
    vmax, h, k = (np.asarray(a, dtype=float) for a in (vmax, h, k))
    s_max = pq.x[:, -1:]
    args = (vmax[:, None], h[:, None], k[:, None])
    gap = np.max(np.abs(pq.base - envelope_value("hill", *args, pq.x, s_max)), axis=1)
    for t in (0.1, 0.25, 0.5, 0.75):
        u = t * pq.length
        model = pq.base[:, :-1] + pq.ds * u - pq.curv * u * u
        target = envelope_value("hill", *args, pq.x[:, :-1] + u, s_max)
        gap = np.maximum(gap, np.max(np.abs(model - target), axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(vmax > 0, gap / vmax, 0.0)
