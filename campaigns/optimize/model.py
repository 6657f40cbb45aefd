"""The numeric form of a Problem that both engines solve: float arrays per decision variable (a cell, or a
cell in a period when flighting), the curves as closed forms or the shared PQ model, and every spend bound in
integer cents. Money leaves Decimal here and comes back in `rounding`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import numpy as np

from campaigns.optimize import curves
from campaigns.optimize.errors import Infeasible
from campaigns.optimize.problem import Objective, Problem

NO_CAP = 1 << 60  # cents; "no upper bound" in integer arithmetic

CELL_CONFLICT = "Cell {cell}: {low_why} of {low} conflicts with {high_why} of {high}."
CELL_CONFLICTS = "{count} cells have bounds that cannot hold together; the first: {first}"


def cents(amount: Decimal | None, rounding: str = ROUND_HALF_UP, default: int = 0) -> int:
    if amount is None:
        return default
    return int((amount * 100).to_integral_value(rounding=rounding))


def dollars(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-2)


@dataclass
class CurveSet:
    """Per-variable curves, grouped by how the engines treat them (closed forms, or the PQ model)."""

    form: np.ndarray          # "exp" | "hill" (the TRUE curve)
    vmax: np.ndarray
    h: np.ndarray
    k: np.ndarray
    exp_idx: np.ndarray
    h1_idx: np.ndarray
    pq_idx: np.ndarray
    pq: curves.PQ | None

    def subset(self, idx: np.ndarray) -> CurveSet:
        """The curves of variables `idx`, in that order."""
        kind = np.zeros(len(self.form), dtype=np.int8)
        kind[self.h1_idx], kind[self.pq_idx] = 1, 2
        position = np.full(len(self.form), -1, dtype=np.int64)
        position[self.pq_idx] = np.arange(len(self.pq_idx))
        sub = kind[idx]
        pq_rows = idx[sub == 2]
        return CurveSet(form=self.form[idx], vmax=self.vmax[idx], h=self.h[idx], k=self.k[idx],
                        exp_idx=np.flatnonzero(sub == 0), h1_idx=np.flatnonzero(sub == 1),
                        pq_idx=np.flatnonzero(sub == 2),
                        pq=self.pq.rows(position[pq_rows]) if len(pq_rows) else None)

    def true_value(self, s: np.ndarray) -> np.ndarray:
        out = np.zeros(len(s))
        is_exp = self.form == "exp"
        out[is_exp] = curves.value("exp", self.vmax[is_exp], self.h[is_exp], 1.0, s[is_exp])
        hill = ~is_exp
        out[hill] = curves.value("hill", self.vmax[hill], self.h[hill], self.k[hill], s[hill])
        return out

    def model_value(self, s: np.ndarray) -> np.ndarray:
        out = np.zeros(len(s))
        e, h1, q = self.exp_idx, self.h1_idx, self.pq_idx
        out[e] = self.vmax[e] * -np.expm1(-s[e] / self.h[e])
        out[h1] = self.vmax[h1] * s[h1] / (s[h1] + self.h[h1])
        if len(q):
            out[q] = self.pq.value(s[q])
        return out

    def model_derivative(self, s: np.ndarray) -> np.ndarray:
        out = np.zeros(len(s))
        e, h1, q = self.exp_idx, self.h1_idx, self.pq_idx
        out[e] = self.vmax[e] / self.h[e] * np.exp(-s[e] / self.h[e])
        out[h1] = self.vmax[h1] * self.h[h1] / (s[h1] + self.h[h1]) ** 2
        if len(q):
            out[q] = self.pq.derivative(s[q])
        return out

    def best_spend(self, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per variable, s = argmax curve(s) − ratio·s over s ≥ 0 (+inf where ratio ≤ 0), and ds/d log(ratio)."""
        e, h1, q = self.exp_idx, self.h1_idx, self.pq_idx
        if len(e) == len(ratio):  # all exponential: the hot path of large problems, without any indexing
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(ratio > 0, self.h * (self._log_slope - np.log(ratio)), np.inf), -self.h
        out = np.empty(len(ratio))
        slope = np.empty(len(ratio))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = ratio[e]
            out[e] = np.where(r > 0, self.h[e] * (self._log_slope[e] - np.log(r)), np.inf)
            slope[e] = -self.h[e]
            r = ratio[h1]
            root = np.sqrt(self.vmax[h1] * self.h[h1] / r)
            out[h1] = np.where(r > 0, root - self.h[h1], np.inf)
            slope[h1] = -0.5 * root
        if len(q):
            out[q], slope[q] = self.pq.best_spend(ratio[q])
        return out, slope

    @property
    def _log_slope(self) -> np.ndarray:
        """log(vmax / h): the log of an exponential curve's slope at 0 (cached)."""
        cached = self.__dict__.get("_log_slope_cache")
        if cached is None:
            with np.errstate(divide="ignore"):
                cached = np.log(self.vmax / self.h)
            self.__dict__["_log_slope_cache"] = cached
        return cached


@dataclass
class Group:
    """A spend floor/cap (cents) on a set of variables: a hierarchy node, a cell over its periods, a period."""

    key: str                  # "node" | "cell" | "period"
    label: tuple[str, ...]    # node path, (cell id,), (period id,)
    members: np.ndarray       # variable indices
    low: int = 0
    high: int = NO_CAP


@dataclass
class Efficiency:
    """Σ weight · sales ≥ ratio · Σ spend + margin (ROAS floor: weight 1 or 1/incrementality; CPA cap:
    weight 1/price and ratio 1/max_cpa · max_cpa = Σ conversions · max_cpa ≥ Σ spend)."""

    name: str                 # "min_roas" | "max_cpa"
    weight: np.ndarray
    ratio: float
    margin: float = 0.0

    def slack(self, sales: np.ndarray, spend: np.ndarray) -> float:
        return math.fsum(self.weight * sales) - self.ratio * math.fsum(spend) - self.margin


@dataclass
class Model:
    problem: Problem
    objective: Objective
    n_cells: int
    n_periods: int                      # 0: no flighting (one variable per cell)
    var_cell: np.ndarray
    var_period: np.ndarray | None
    lo: np.ndarray                      # per variable, dollars
    hi: np.ndarray
    curves: CurveSet
    w: np.ndarray                       # objective weight of sales per variable
    c: float                            # objective cost per $ of spend (1 for margin, else 0)
    cell_lo: np.ndarray                 # cents
    cell_hi: np.ndarray                 # cents (NO_CAP: none)
    current: np.ndarray                 # cents per cell
    groups: list[Group]                 # node bounds (and, when flighting, cell totals and period budgets)
    budget: int | None                  # allocatable cents after the reserve
    spend_all: bool
    efficiency: list[Efficiency] = field(default_factory=list)
    stocked_out: np.ndarray | None = None
    fixed: np.ndarray | None = None

    @property
    def n_vars(self) -> int:
        return len(self.var_cell)

    def objective_value(self, s: np.ndarray, sales: np.ndarray) -> float:
        return math.fsum(self.w * sales) - self.c * math.fsum(s)

    def with_efficiency(self, efficiency: list[Efficiency]) -> Model:
        return replace(self, efficiency=efficiency)

    def with_objective(self, w: np.ndarray, c: float) -> Model:
        return replace(self, w=w, c=c)

    def with_budget(self, budget: int | None, spend_all: bool = False) -> Model:
        return replace(self, budget=budget, spend_all=spend_all)


def build_model(problem: Problem, *, curves_override: list | None = None) -> Model:
    """Compile `problem` (already validated); raise Infeasible for cells whose own bounds clash."""
    cells = problem.cells
    con = problem.constraints
    n = len(cells)
    share = Decimal(str(con.reserve_share))
    budget = None
    if con.budget is not None:
        budget = cents(con.budget * (1 - share), ROUND_FLOOR)
    fixed_prefixes = {tuple(p) for p in con.fixed_nodes}
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, NO_CAP, dtype=np.int64)
    current = np.zeros(n, dtype=np.int64)
    stocked = np.zeros(n, dtype=bool)
    fixed = np.zeros(n, dtype=bool)
    conflicts: list[str] = []
    for i, cell in enumerate(cells):
        low, high = cents(cell.min_spend, ROUND_CEILING), cents(cell.max_spend, ROUND_FLOOR, NO_CAP)
        high_why = "its max spend"
        if cell.inventory_cap is not None and cents(cell.inventory_cap, ROUND_FLOOR) < high:
            high, high_why = cents(cell.inventory_cap, ROUND_FLOOR), "its inventory cap"
        if cell.stockout_prob > con.stockout_threshold:
            high, high_why = 0, f"its out-of-stock max (stock-out probability {cell.stockout_prob:.0%})"
            stocked[i] = True
        current[i] = cents(cell.current_spend)
        low_why = "its min spend"
        if cell.fixed or any(cell.path[:d] in fixed_prefixes for d in range(1, len(cell.path))):
            if current[i] < low or current[i] > high:
                conflicts.append(CELL_CONFLICT.format(
                    cell=cell.id, low_why="holding it at its current spend", low=_fmt(current[i]),
                    high_why=high_why if current[i] > high else low_why, high=_fmt(high if current[i] > high else low)))
            low = high = int(current[i])
            fixed[i] = True
        if low > high:
            conflicts.append(CELL_CONFLICT.format(cell=cell.id, low_why=low_why, low=_fmt(low), high_why=high_why,
                                                  high=_fmt(high)))
        lo[i], hi[i] = low, high
    if conflicts:
        message = conflicts[0] if len(conflicts) == 1 else CELL_CONFLICTS.format(count=len(conflicts),
                                                                                 first=conflicts[0])
        raise Infeasible(message, conflicts=conflicts)
    node_groups = _node_groups(problem)
    periods = con.periods
    n_periods = len(periods)
    objective = Objective(problem.objective)
    margin_rate = np.array([c.margin_rate for c in cells], dtype=float)
    price = np.array([float(c.price) if c.price is not None else np.nan for c in cells])
    incrementality = np.array([c.incrementality for c in cells], dtype=float)
    base = curves_override if curves_override is not None else [c.curve for c in cells]
    form = np.array([c.form for c in base])
    vmax = np.array([c.vmax for c in base], dtype=float)
    h = np.array([c.h for c in base], dtype=float)
    k = np.array([c.k if c.form == "hill" else 1.0 for c in base], dtype=float)

    # Every curve's model lives on [0, the most the cell could ever get]: its own max or the budget; only where
    # neither exists, the node caps above it (so dropping a cap, to price it, leaves the model as it is).
    bound = np.where(hi < NO_CAP, hi / 100.0, np.inf)
    if budget is not None:
        bound = np.minimum(bound, budget / 100.0)
    if n_periods:
        bound = np.minimum(bound, sum(cents(p.budget * (1 - share), ROUND_FLOOR) for p in periods) / 100.0)
    capped = np.full(n, np.inf)
    for group in node_groups:
        if group.high < NO_CAP:
            capped[group.members] = np.minimum(capped[group.members], group.high / 100.0)
    bound = np.where(np.isfinite(bound), bound, capped)
    # Where nothing else bounds a cell, a ROAS/CPA floor does (no plan spends more than the sales it can reach
    # allow), and failing that the spend where the curve is saturated to a billionth.
    horizon = sum(p.weight for p in periods) if n_periods else 1.0
    attainable = vmax * horizon
    implied = np.inf
    if con.min_roas is not None:
        roas_weight = 1.0 / incrementality if con.roas_basis == "attributed" else np.ones(n)
        implied = min(implied, math.fsum(roas_weight * attainable) / con.min_roas)
    if con.max_cpa is not None:
        implied = min(implied, math.fsum(attainable / price) * float(con.max_cpa))
    saturation = np.where(form == "exp", curves.saturation_spend("exp", h, k),
                          curves.saturation_spend("hill", h, k, 1e-9))
    bound = np.where(np.isfinite(bound), bound, np.minimum(np.minimum(saturation, implied), 1e15))
    bound = np.maximum(bound, lo / 100.0)

    if n_periods:
        var_cell = np.repeat(np.arange(n), n_periods)
        var_period = np.tile(np.arange(n_periods), n)
        weight = np.array([p.weight for p in periods], dtype=float)[var_period]
        period_cap = np.array([cents(p.budget * (1 - share), ROUND_FLOOR) for p in periods]) / 100.0
        v_hi = np.minimum(bound[var_cell], period_cap[var_period])
        v_lo = np.zeros(len(var_cell))
    else:
        var_cell = np.arange(n)
        var_period = None
        weight = np.ones(n)
        v_hi = bound.copy()
        v_lo = lo / 100.0
    v_hi = np.maximum(v_hi, v_lo)
    cs = _curve_set(form[var_cell], vmax[var_cell] * weight, h[var_cell], k[var_cell], v_hi)

    if objective is Objective.MARGIN:
        w, c = margin_rate, 1.0
    elif objective is Objective.REVENUE:
        w, c = np.ones(n), 0.0
    else:
        w, c = 1.0 / price, 0.0
    efficiency = []
    if con.min_roas is not None:
        roas_weight = 1.0 / incrementality if con.roas_basis == "attributed" else np.ones(n)
        efficiency.append(Efficiency("min_roas", roas_weight[var_cell], float(con.min_roas)))
    if con.max_cpa is not None:
        efficiency.append(Efficiency("max_cpa", (float(con.max_cpa) / price)[var_cell], 1.0))

    groups = [replace(g, members=_vars_of(g.members, n_periods)) for g in node_groups]
    if n_periods:
        for i, cell in enumerate(cells):
            if lo[i] > 0 or hi[i] < NO_CAP:
                groups.append(Group("cell", (cell.id,), np.arange(i * n_periods, (i + 1) * n_periods),
                                    int(lo[i]), int(hi[i])))
        for t, period in enumerate(periods):
            groups.append(Group("period", (period.id,), np.arange(t, n * n_periods, n_periods), 0,
                                cents(period.budget * (1 - share), ROUND_FLOOR)))
    return Model(problem=problem, objective=objective, n_cells=n, n_periods=n_periods, var_cell=var_cell,
                 var_period=var_period, lo=v_lo, hi=v_hi, curves=cs, w=w[var_cell] * 1.0, c=c, cell_lo=lo,
                 cell_hi=hi, current=current, groups=groups, budget=budget, spend_all=con.spend_all,
                 efficiency=efficiency, stocked_out=stocked, fixed=fixed)


def _curve_set(form, vmax, h, k, s_max) -> CurveSet:
    is_exp = form == "exp"
    is_h1 = (~is_exp) & (k == 1.0)
    is_pq = (~is_exp) & (k != 1.0)
    pq_idx = np.flatnonzero(is_pq)
    pq = curves.hill_pq(vmax[pq_idx], h[pq_idx], k[pq_idx], s_max[pq_idx]) if len(pq_idx) else None
    return CurveSet(form=form, vmax=vmax, h=h, k=k, exp_idx=np.flatnonzero(is_exp), h1_idx=np.flatnonzero(is_h1),
                    pq_idx=pq_idx, pq=pq)


def _node_groups(problem: Problem) -> list[Group]:
    bounds: dict[tuple[str, ...], list[int]] = {}
    for bound in problem.constraints.node_bounds:
        low = cents(bound.min, ROUND_CEILING)
        high = cents(bound.max, ROUND_FLOOR, NO_CAP)
        old = bounds.get(tuple(bound.path), [0, NO_CAP])
        bounds[tuple(bound.path)] = [max(old[0], low), min(old[1], high)]
    if not bounds:
        return []
    depths = {len(p) for p in bounds}
    members: dict[tuple[str, ...], list[int]] = {p: [] for p in bounds}
    for i, cell in enumerate(problem.cells):
        for d in depths:
            key = cell.path[:d]
            if key in members and len(cell.path) >= d:
                members[key].append(i)
    return [Group("node", path, np.array(members[path], dtype=np.int64), low, high)
            for path, (low, high) in sorted(bounds.items(), key=lambda item: (len(item[0]), item[0]))]


def _vars_of(cell_index: np.ndarray, n_periods: int) -> np.ndarray:
    if not n_periods:
        return cell_index
    return (cell_index[:, None] * n_periods + np.arange(n_periods)[None, :]).ravel()


def _fmt(value: int) -> str:
    if value >= NO_CAP:
        return "no limit"
    return f"${dollars(value):,.2f}"
