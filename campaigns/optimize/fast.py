"""The fast engine: the separable case (budget, ROAS/CPA floors, box bounds, floors and caps on any hierarchy
node) solved through its Lagrangian, vectorized over all cells.

For prices on spend, each cell's best spend is closed form (exp, Hill k = 1) or read off the PQ model, clipped to
its bounds. The node constraints are nested (laminar), which makes them exact to handle bottom-up: a node's
subtree spends D(p) at an incoming price p, and its cap/floor turns p into clip(p, τ, σ), where D(τ) = cap and
D(σ) = floor. τ and σ depend only on the subtree, so one pass from the deepest constrained level to the root
(the budget) finds them all, every node of a level at once, each by a vectorized safeguarded regula falsi on
log p. A ROAS or CPA floor adds a multiplier μ: weights (w + μ·a) on sales and price (c + μ·r) on spend; the
floor's slack is monotone in μ, so μ is found by the same root finding on the outer loop (nested, when both
floors bind). Every bound is met from its feasible side.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from campaigns.optimize.model import NO_CAP, Model

MAX_ITER = 200
MULTIPLIER_CEILING = 1e12


class Unsupported(Exception):
    """The fast path cannot take this model; the reference engine can."""


class EngineInfeasible(Exception):
    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


@dataclass
class Duals:
    """Shadow prices in objective units per unit of relaxation: per $ of budget or cap (+), per $ of floor (−),
    per unit of efficiency-floor slack (ROAS/CPA multipliers, ≥ 0)."""

    budget: float = 0.0
    efficiency: dict[str, float] = field(default_factory=dict)
    groups: list[float] = field(default_factory=list)


@dataclass
class RawSolution:
    x: np.ndarray
    engine: str
    duals: Duals
    seconds: float
    objective: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Level:
    node_of_var: np.ndarray   # −1 for variables outside this level's nodes
    low: np.ndarray           # per node, dollars (−inf: none)
    high: np.ndarray          # per node, dollars (+inf: none)
    group_index: list[int]    # per node, its index in model.groups (−1: the root)


def _levels(model: Model) -> list[_Level]:
    """The constrained nodes by depth, deepest first, then the root (the budget)."""
    n = model.n_vars
    by_depth: dict[int, list[int]] = {}
    for index, group in enumerate(model.groups):
        if group.key != "node":
            raise Unsupported(f"{group.key} constraints")
        by_depth.setdefault(len(group.label), []).append(index)
    levels = []
    for depth in sorted(by_depth, reverse=True):
        node_of_var = np.full(n, -1, dtype=np.int64)
        low, high = [], []
        for j, index in enumerate(by_depth[depth]):
            group = model.groups[index]
            node_of_var[group.members] = j
            low.append(group.low / 100.0 if group.low > 0 else -np.inf)
            high.append(group.high / 100.0 if group.high < NO_CAP else np.inf)
        levels.append(_Level(node_of_var, np.array(low), np.array(high), list(by_depth[depth])))
    budget = model.budget
    levels.append(_Level(
        np.zeros(n, dtype=np.int64),
        np.array([budget / 100.0 if (model.spend_all and budget) else -np.inf]),
        np.array([budget / 100.0 if budget is not None else np.inf]),
        [-1],
    ))
    return levels


class _Laminar:
    """One Lagrangian solve: given sales weights W and the base price b, the best spends under every node bound."""

    def __init__(self, model: Model, levels: list[_Level]) -> None:
        self.model = model
        self.levels = levels
        self.lo, self.hi = model.lo, model.hi
        self.cs = model.curves
        self.d_lo = self.cs.model_derivative(self.lo)
        self.d_hi = self.cs.model_derivative(self.hi)
        self.parts = []
        for level in levels:
            members = np.flatnonzero(level.node_of_var >= 0)
            whole = len(members) == model.n_vars
            self.parts.append((members, level.node_of_var[members], self.cs if whole else self.cs.subset(members),
                               self.lo[members], self.hi[members]))

    @staticmethod
    def _demand(cs, price, weight, lo, hi, with_slope: bool = False):
        """Best spends at `price` (clipped to the bounds) and, optionally, d spend / d log price."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(weight > 0, price / weight, np.inf)
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        s, slope = cs.best_spend(ratio)
        if not with_slope:
            return np.clip(s, lo, hi)
        free = (s > lo) & (s < hi) & (ratio > 0) & np.isfinite(ratio)
        return np.clip(s, lo, hi), np.where(free, slope, 0.0)

    def solve(self, weight: np.ndarray, base: float, hint: list | None = None):
        n = self.model.n_vars
        a = np.full(n, -np.inf)
        b = np.full(n, np.inf)
        positive = weight > 0
        p_max = float(np.max((weight * self.d_lo)[positive], initial=1.0)) * 4.0 + 1e-300
        p_min = float(np.min((weight * self.d_hi)[positive], initial=p_max)) / 4.0
        p_min = max(p_min, p_max * 1e-30)
        clips = []
        for level_no, (level, (members, node, cs, lo, hi)) in enumerate(zip(self.levels, self.parts, strict=True)):
            n_nodes = len(level.low)
            am, bm = a[members], b[members]
            wm = weight[members]
            most = np.bincount(node, self._demand(cs, am, wm, lo, hi), minlength=n_nodes)
            tau = np.full(n_nodes, -np.inf)
            sigma = np.full(n_nodes, np.inf)
            guess = hint[level_no] if hint else (None, None)
            caps = np.flatnonzero(most > level.high * (1 + 1e-12) + 1e-9)
            if len(caps):
                total = self._total(caps, node, cs, am, bm, wm, lo, hi, n_nodes)
                tau[caps] = _find(total, n_nodes, caps, level.high, p_min, p_max, keep_high=True, guess=guess[0])
            if np.isfinite(level.low).any():
                least = np.bincount(node, self._demand(cs, bm, wm, lo, hi), minlength=n_nodes)
                floors = np.flatnonzero(least < level.low * (1 - 1e-12) - 1e-9)
                if len(floors):
                    total = self._total(floors, node, cs, am, bm, wm, lo, hi, n_nodes)
                    sigma[floors] = _find(total, n_nodes, floors, level.low, p_min, p_max, keep_high=False,
                                          guess=guess[1])
            clips.append((tau, sigma))
            a[members], b[members] = np.clip(tau[node], am, bm), np.clip(sigma[node], am, bm)
        price = np.clip(base, a, b)
        return self._demand(self.cs, price, weight, self.lo, self.hi), price, clips

    def _total(self, rows, node, cs, am, bm, wm, lo, hi, n_nodes):
        """Subtree spend per node at node prices, and its derivative in log price, over the cells below `rows`."""
        if len(rows) < n_nodes:
            wanted = np.zeros(n_nodes, dtype=bool)
            wanted[rows] = True
            keep = np.flatnonzero(wanted[node])
            if len(keep) < len(node):
                node, cs, am, bm, wm, lo, hi = (node[keep], cs.subset(keep), am[keep], bm[keep], wm[keep], lo[keep],
                                                hi[keep])

        def total(p_node):
            p = p_node[node]
            price = np.clip(p, am, bm)
            s, slope = self._demand(cs, price, wm, lo, hi, with_slope=True)
            slope = np.where(price == p, slope, 0.0)  # a price held by a node below does not move
            return (np.bincount(node, s, minlength=n_nodes), np.bincount(node, slope, minlength=n_nodes))

        return total


def _find(total, n_nodes, rows, target, p_min, p_max, *, keep_high: bool, guess=None) -> np.ndarray:
    """Per row in `rows`, the log-price root of total(p) = target (total is non-increasing in p).

    keep_high: return a price where target − tol ≤ total ≤ target (caps); else target ≤ total ≤ target + tol
    (floors). Safeguarded Newton on log p (the spend of an exp cell is linear in log p between its bounds, so
    Newton lands in a few steps), aiming at the middle of that window, bisecting whenever a step would leave the
    bracket or stops halving the error.
    """
    n = len(rows)
    t_lo = np.full(n, math.log(p_min))
    t_hi = np.full(n, math.log(p_max))
    goal = target[rows]
    tol = np.maximum(np.abs(goal) * 1e-10, 1e-6)
    aim = -0.5 * tol if keep_high else 0.5 * tol
    x = 0.5 * (t_lo + t_hi)
    if guess is not None:
        finite = np.isfinite(guess[rows]) & (guess[rows] > 0)
        x = np.where(finite, np.clip(np.log(np.where(finite, guess[rows], 1.0)), t_lo, t_hi), x)
    result = (t_hi if keep_high else t_lo).copy()
    done = np.zeros(n, dtype=bool)
    previous = np.full(n, np.inf)
    for _ in range(MAX_ITER):
        p = np.full(n_nodes, np.inf)
        p[rows] = np.exp(x)
        value, slope = total(p)
        g = value[rows] - goal
        d = slope[rows]
        hit = ~done & ((g >= -tol) & (g <= 0) if keep_high else (g >= 0) & (g <= tol))
        result, done = np.where(hit, x, result), done | hit
        G = g - aim
        t_lo = np.where(~done & (G > 0), x, t_lo)
        t_hi = np.where(~done & (G <= 0), x, t_hi)
        narrow = ~done & (t_hi - t_lo <= 1e-15 * (1 + np.abs(t_hi)))
        result, done = np.where(narrow, t_hi if keep_high else t_lo, result), done | narrow
        if done.all():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - G / d
        slow = np.abs(G) > 0.5 * previous
        bisect = ~np.isfinite(step) | (step <= t_lo) | (step >= t_hi) | slow
        previous = np.where(bisect, np.inf, np.abs(G))
        x = np.where(bisect, 0.5 * (t_lo + t_hi), step)
    return np.exp(result)


def _search(h, *, tol: float, name: str):
    """A multiplier μ ≥ 0 with 0 ≤ h(μ) ≤ tol, or μ = 0 when h(0) ≥ 0 (h non-decreasing); (μ, h's result)."""
    value0 = h(0.0)
    if value0[0] >= 0:
        return 0.0, value0
    aim = 0.5 * tol
    lo, hi, h_lo = 0.0, 1.0, value0[0]
    hi_full = h(hi)
    while hi_full[0] < 0:
        lo, h_lo = hi, hi_full[0]
        hi *= 8.0
        if hi > MULTIPLIER_CEILING:
            raise EngineInfeasible(name)
        hi_full = h(hi)
    s_lo, s_hi, last = h_lo - aim, hi_full[0] - aim, 0
    for _ in range(MAX_ITER):
        if hi_full[0] <= tol or hi - lo <= 1e-13 * hi:
            break
        x = hi - s_hi * (hi - lo) / (s_hi - s_lo) if s_hi != s_lo else 0.5 * (lo + hi)
        if not lo < x < hi:
            x = 0.5 * (lo + hi)
        value = h(x)
        if value[0] >= 0 and value[0] <= tol:
            return x, value
        if value[0] > aim:
            if last == 1:
                s_lo *= 0.5
            hi, s_hi, hi_full, last = x, value[0] - aim, value, 1
        else:
            if last == -1:
                s_hi *= 0.5
            lo, s_lo, last = x, value[0] - aim, -1
    return hi, hi_full


def solve(model: Model) -> RawSolution:
    """The optimum of `model` (no flighting); raises Unsupported or EngineInfeasible(constraint)."""
    started = time.perf_counter()
    if model.n_periods:
        raise Unsupported("flighting")
    levels = _levels(model)
    lam = _Laminar(model, levels)
    effs = model.efficiency
    hints: dict[tuple, list] = {}

    def inner(mults: tuple[float, ...]):
        weight = model.w.copy()
        base = model.c
        for eff, mu in zip(effs, mults, strict=True):
            if mu:
                weight = weight + mu * eff.weight
                base += mu * eff.ratio
        key = tuple(m > 0 for m in mults)
        s, price, clips = lam.solve(weight, base, hints.get(key))
        hints[key] = [(tau, sigma) for tau, sigma in clips]
        sales = model.curves.model_value(s)
        return s, price, clips, sales, base, weight

    def slack(eff, result) -> float:
        return eff.slack(result[3], result[0])

    zero = tuple(0.0 for _ in effs)
    result = inner(zero)
    mults = list(zero)
    spend_scale = max(float(np.sum(result[0])), (model.budget or 0) / 100.0, 1.0)
    failing = [i for i, eff in enumerate(effs) if slack(eff, result) < 0]
    if len(failing) == 1 or (len(failing) == 2 and len(effs) == 2):
        solved = False
        for i in (failing if len(failing) == 1 else (0, 1)):
            mu, res = _one(inner, effs, i, zero, spend_scale)
            if all(slack(eff, res) >= 0 for eff in effs):
                mults = [0.0] * len(effs)
                mults[i] = mu
                result, solved = res, True
                break
        if not solved:
            mults, result = _both(inner, effs, spend_scale)
    s, _, clips, sales, base, _ = result
    duals = _duals(model, levels, clips, base)
    duals.efficiency = {eff.name: mu for eff, mu in zip(effs, mults, strict=True)}
    return RawSolution(x=s, engine="fast", duals=duals, seconds=time.perf_counter() - started,
                       objective=model.objective_value(s, sales))


def _one(inner, effs, i, zero, spend_scale):
    eff = effs[i]

    def h(mu):
        mults = list(zero)
        mults[i] = mu
        res = inner(tuple(mults))
        return eff.slack(res[3], res[0]), res

    mu, (_, res) = _search(h, tol=1e-8 * eff.ratio * spend_scale, name=eff.name)
    return mu, res


def _both(inner, effs, spend_scale):
    """Both floors bind: for each CPA multiplier ν the ROAS multiplier μ(ν), then ν on the outer loop."""
    first, second = effs

    def outer(nu):
        def h(mu):
            res = inner((mu, nu))
            return first.slack(res[3], res[0]), res

        mu, (_, res) = _search(h, tol=1e-8 * first.ratio * spend_scale, name=first.name)
        return second.slack(res[3], res[0]), (mu, nu, res)

    _, (_, (mu, nu, res)) = _search(outer, tol=1e-8 * second.ratio * spend_scale, name=second.name)
    return [mu, nu], res


def _duals(model: Model, levels: list[_Level], clips, base: float) -> Duals:
    """Each node's price minus its parent's (top-down), the budget's price above the base price."""
    n = model.n_vars
    p = np.full(n, base, dtype=float)
    duals = Duals(groups=[0.0] * len(model.groups))
    for level, (tau, sigma) in zip(reversed(levels), reversed(clips), strict=True):
        members = np.flatnonzero(level.node_of_var >= 0)
        node = level.node_of_var[members]
        before = p[members]
        after = np.clip(before, tau[node], sigma[node])
        p[members] = after
        first = np.unique(node, return_index=True)[1]
        for j, pos in zip(node[first], first, strict=True):
            delta = float(after[pos] - before[pos])
            index = level.group_index[j]
            if index < 0:
                duals.budget = delta
            else:
                duals.groups[index] = delta
    return duals
