"""From a rounded plan to an Allocation: per-leaf results and roll-ups per node (valued on the TRUE curves), the
change against the current allocation, exact checks of every constraint after cent rounding, and the
constraints that bind with their shadow prices and costs in plain words.

Costs: the budget, ROAS and CPA floors, and the three node bounds with the largest shadow prices are each
solved again without that constraint (method "re-solve": the objective gained by dropping it); every other
binding constraint is described by its dual value (method "dual": the objective per extra $ of relaxation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import numpy as np

from campaigns.optimize import curves
from campaigns.optimize.errors import Infeasible, ProblemError
from campaigns.optimize.fast import EngineInfeasible, RawSolution
from campaigns.optimize.infeasible import floor_words, money_words, node_words
from campaigns.optimize.model import NO_CAP, Model, build_model, dollars
from campaigns.optimize.problem import Objective, Problem
from campaigns.optimize.result import Allocation, Binding, CellPlan, Check, NodePlan, Totals

RESOLVED_NODE_BOUNDS = 3
BINDING_TOL = 1e-7

UNIT = {Objective.MARGIN: "of margin", Objective.REVENUE: "of incremental revenue",
        Objective.CONVERSIONS: "conversions"}


def _money(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def _amount(objective: Objective, value: float) -> str:
    if objective is Objective.CONVERSIONS:
        return f"{value:,.0f} conversions"
    return f"{money_words(value)} {UNIT[objective]}"


def build_allocation(problem: Problem, model: Model, raw: RawSolution, spend: np.ndarray, *,
                     run: Callable[[Model], RawSolution] | None, costs: bool = True) -> Allocation:
    cells = problem.cells
    n = model.n_cells
    x = spend / 100.0
    sales_v = model.curves.true_value(x)
    model_sales_v = model.curves.model_value(x)
    cell_spend = np.bincount(model.var_cell, spend, minlength=n).astype(np.int64)
    cell_sales = np.bincount(model.var_cell, sales_v, minlength=n)
    margin_rate = np.array([c.margin_rate for c in cells])
    price = np.array([float(c.price) if c.price is not None else np.nan for c in cells])
    cell_margin = margin_rate * cell_sales - cell_spend / 100.0
    current = model.current
    current_v = current[model.var_cell] / 100.0 / max(model.n_periods, 1)
    current_sales = np.bincount(model.var_cell, model.curves.true_value(current_v), minlength=n)
    current_margin = margin_rate * current_sales - current / 100.0
    per_period = spend.reshape(n, model.n_periods) if model.n_periods else None

    plans = []
    for i, cell in enumerate(cells):
        s = int(cell_spend[i])
        at = ""
        if model.stocked_out[i]:
            at = "out of stock"
        elif model.fixed[i]:
            at = "fixed"
        elif s == model.cell_hi[i]:
            at = "max"
        elif s == model.cell_lo[i] and s > 0:
            at = "min"
        plans.append(CellPlan(
            id=cell.id, path=cell.path, spend=dollars(s), current_spend=dollars(int(current[i])),
            change=dollars(s - int(current[i])), incremental_sales=_money(cell_sales[i]),
            incremental_margin=_money(cell_margin[i]),
            conversions=None if math.isnan(price[i]) else float(cell_sales[i] / price[i]), at=at,
            period_spend=tuple(dollars(int(v)) for v in per_period[i]) if per_period is not None else ()))

    nodes = _rollups(problem, cell_spend, current, cell_sales, cell_margin)
    totals = _totals(problem, model, spend, sales_v, model_sales_v, cell_margin, current, current_sales,
                     current_margin, price, cell_sales)
    checks = plan_checks(problem, model, spend, sales_v)
    binding = _bindings(problem, model, raw, cell_spend, run, costs) if run is not None else []
    notes = list(raw.notes) + _approximation_notes(model, x, sales_v, model_sales_v)
    return Allocation(engine=raw.engine, objective=model.objective.value, cells=tuple(plans), nodes=tuple(nodes),
                      totals=totals, binding=tuple(binding), checks=tuple(checks), notes=tuple(notes),
                      duals=raw.duals, solve_seconds=raw.seconds,
                      periods=tuple(p.id for p in problem.constraints.periods))


def _rollups(problem, cell_spend, current, cell_sales, cell_margin) -> list[NodePlan]:
    depth = max(len(c.path) for c in problem.cells)
    out = []
    for d in range(1, depth):
        index: dict[tuple[str, ...], int] = {}
        owner = np.array([index.setdefault(c.path[:d], len(index)) if len(c.path) > d else -1
                          for c in problem.cells])
        keep = owner >= 0
        size = len(index)
        sums = [np.bincount(owner[keep], values[keep], minlength=size)
                for values in (cell_spend, current, cell_sales, cell_margin)]
        level = problem.levels[d - 1] if problem.levels else f"level {d}"
        for path, j in sorted(index.items()):
            spend, cur = int(round(sums[0][j])), int(round(sums[1][j]))
            out.append(NodePlan(path=path, level=level, spend=dollars(spend), current_spend=dollars(cur),
                                change=dollars(spend - cur), incremental_sales=_money(sums[2][j]),
                                incremental_margin=_money(sums[3][j])))
    return out


def _totals(problem, model, spend, sales_v, model_sales_v, cell_margin, current, current_sales, current_margin,
            price, cell_sales) -> Totals:
    con = problem.constraints
    total = int(np.sum(spend))
    revenue = math.fsum(sales_v)
    incrementality = np.array([c.incrementality for c in problem.cells])
    attributed = math.fsum(cell_sales / incrementality)
    has_price = not np.isnan(price).any()
    conversions = math.fsum(cell_sales / price) if has_price else None
    x = spend / 100.0
    return Totals(
        budget=con.budget, allocatable=dollars(model.budget) if model.budget is not None else None,
        reserve=(con.budget - dollars(model.budget)) if model.budget is not None else Decimal("0.00"),
        spend=dollars(total), current_spend=dollars(int(np.sum(current))), incremental_revenue=_money(revenue),
        incremental_margin=_money(math.fsum(cell_margin)), conversions=conversions,
        roas_incremental=revenue / (total / 100) if total else None,
        roas_attributed=attributed / (total / 100) if total else None,
        cpa=_money(total / 100 / conversions) if conversions else None,
        current_incremental_revenue=_money(math.fsum(current_sales)),
        current_incremental_margin=_money(math.fsum(current_margin)),
        objective=model.objective_value(x, sales_v), model_objective=model.objective_value(x, model_sales_v))


# --- exact checks -----------------------------------------------------------------------------------------------

def plan_checks(problem: Problem, model: Model, spend: np.ndarray, sales_v: np.ndarray) -> list[Check]:
    """Every constraint of `problem`, checked on the rounded plan: money in Decimal, ROAS/CPA on the TRUE curves."""
    con = problem.constraints
    cells = problem.cells
    n = len(cells)
    cell_spend = [dollars(int(v)) for v in np.bincount(model.var_cell, spend, minlength=n).astype(np.int64)]
    total = sum(cell_spend, Decimal("0.00"))
    out = []
    if con.budget is not None:
        allocatable = dollars(model.budget)
        holds = total == allocatable if con.spend_all else total <= allocatable
        relation = "=" if con.spend_all else "≤"
        out.append(Check("budget", holds, f"spend {money_words(total)} {relation} {money_words(allocatable)} "
                                          f"allocatable of a {money_words(con.budget)} budget"))
        if con.reserve_share:
            reserve = con.budget * Decimal(str(con.reserve_share))
            out.append(Check("reserve", con.budget - total >= reserve,
                             f"the {con.reserve_share:.0%} experiment reserve ({money_words(reserve)}) stays out of "
                             f"the plan: {money_words(con.budget - total)} of the budget is unallocated"))
    fixed_prefixes = {tuple(p) for p in con.fixed_nodes}
    bad = {"min_spend": 0, "max_spend": 0, "inventory_cap": 0, "stock_out": 0, "fixed": 0}
    seen = {key: 0 for key in bad}
    for cell, s in zip(cells, cell_spend, strict=True):
        seen["min_spend"] += 1
        bad["min_spend"] += s < cell.min_spend
        if cell.max_spend is not None:
            seen["max_spend"] += 1
            bad["max_spend"] += s > cell.max_spend
        if cell.inventory_cap is not None:
            seen["inventory_cap"] += 1
            bad["inventory_cap"] += s > cell.inventory_cap
        if cell.stockout_prob > con.stockout_threshold:
            seen["stock_out"] += 1
            bad["stock_out"] += s != 0
        if cell.fixed or any(cell.path[:d] in fixed_prefixes for d in range(1, len(cell.path))):
            seen["fixed"] += 1
            bad["fixed"] += s != cell.current_spend.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    for key, count in seen.items():
        if count:
            out.append(Check(key, bad[key] == 0, f"{count - bad[key]} of {count} cells within it"))
    if con.node_bounds:
        sums: dict[tuple[str, ...], int] = {}
        cents = np.bincount(model.var_cell, spend, minlength=n).astype(np.int64).tolist()
        for d in {len(b.path) for b in con.node_bounds}:
            for cell, c in zip(cells, cents, strict=True):
                if len(cell.path) >= d:
                    sums[cell.path[:d]] = sums.get(cell.path[:d], 0) + c
        failures = 0
        for bound in con.node_bounds:
            node_total = dollars(sums.get(tuple(bound.path), 0))
            failures += (bound.min is not None and node_total < bound.min) or (
                bound.max is not None and node_total > bound.max)
        out.append(Check("node_bounds", failures == 0,
                         f"{len(con.node_bounds) - failures} of {len(con.node_bounds)} node bounds hold"))
    if con.periods:
        share = Decimal(str(con.reserve_share))
        per_period = spend.reshape(n, len(con.periods)).sum(axis=0)
        failures = sum(dollars(int(v)) > (p.budget * (1 - share)).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
                       for p, v in zip(con.periods, per_period, strict=True))
        out.append(Check("period_budgets", failures == 0,
                         f"{len(con.periods) - failures} of {len(con.periods)} period budgets hold"))
    x = spend / 100.0
    spent = math.fsum(x)
    for eff in model.efficiency:
        gained = math.fsum(eff.weight * sales_v)
        holds = gained >= eff.ratio * spent
        if eff.name == "min_roas":
            achieved = gained / spent if spent else math.inf
            detail = f"ROAS {achieved:.4f} ≥ {con.min_roas:.4f} ({con.roas_basis}, on the true curves)"
        else:
            achieved = spent / (gained / float(con.max_cpa)) if gained else 0.0
            detail = f"CPA ${achieved:.4f} ≤ {money_words(con.max_cpa)} (on the true curves)"
        out.append(Check(eff.name, holds, detail if holds else detail.replace("≥", "<").replace("≤", ">")))
    return out


# --- binding constraints ------------------------------------------------------------------------------------------

def _bindings(problem, model, raw, cell_spend, run, costs: bool) -> list[Binding]:
    objective = model.objective
    duals = raw.duals
    con = problem.constraints
    total = float(np.sum(cell_spend)) / 100.0
    out = []

    def resolve(variant: Problem, tweak=None) -> float | None:
        """The objective gained by solving `variant` (the problem less one constraint). With a budget, the
        compiled model does not depend on the node caps or the ROAS/CPA floors, so `tweak` edits it directly."""
        if not costs:
            return None
        try:
            relaxed = tweak(model) if tweak is not None and model.budget is not None else build_model(variant)
            return run(relaxed).objective - raw.objective
        except (ProblemError, Infeasible, EngineInfeasible, RuntimeError):
            return None

    if model.budget is not None and (abs(duals.budget) > BINDING_TOL):
        gain = resolve(replace(problem, constraints=replace(con, budget=None, spend_all=False, reserve_share=0.0)))
        per_k = duals.budget * 1000
        head = f"The budget binds ({money_words(dollars(model.budget))} allocatable"
        head += f" after a {con.reserve_share:.0%} experiment reserve)" if con.reserve_share else ")"
        if duals.budget > 0:
            words = f"{head}: each extra $1,000 would add about {_amount(objective, per_k)} (dual)"
        else:
            words = f"{head}: spending all of it costs about {_amount(objective, -per_k)} per $1,000 (dual)"
        if gain is not None:
            words += f"; without a budget the plan would gain {_amount(objective, gain)} (re-solved without it)"
        out.append(Binding("budget", "budget", duals.budget, _cost(objective, gain), _method(gain), words + "."))
    for eff in model.efficiency:
        mu = duals.efficiency.get(eff.name, 0.0)
        if mu <= BINDING_TOL:
            continue
        field = {"min_roas": {"min_roas": None}, "max_cpa": {"max_cpa": None}}[eff.name]
        gain = resolve(replace(problem, constraints=replace(con, **field)),
                       lambda m, name=eff.name: m.with_efficiency([e for e in m.efficiency if e.name != name]))
        if eff.name == "min_roas":
            marginal = mu * total * 0.01
            tail = f"each 0.01 off the floor would add about {_amount(objective, marginal)} (dual)"
        else:
            sales = float(np.sum(eff.weight * model.curves.model_value(raw.x))) / float(con.max_cpa)
            marginal = mu * sales
            tail = f"each extra $1 of allowed CPA would add about {_amount(objective, marginal)} (dual)"
        if gain is not None:
            words = f"The {floor_words(model, eff)} floor binds and costs {_amount(objective, gain)} (re-solved " \
                    f"without it); {tail}."
        else:
            words = f"The {floor_words(model, eff)} floor binds; {tail}."
        out.append(Binding(eff.name, floor_words(model, eff), mu, _cost(objective, gain), _method(gain), words))
    ranked = sorted((i for i, d in enumerate(duals.groups) if abs(d) > BINDING_TOL),
                    key=lambda i: -abs(duals.groups[i]))
    resolved = {i for i in ranked if model.groups[i].key == "node"}
    resolved = set(sorted(resolved, key=ranked.index)[:RESOLVED_NODE_BOUNDS])
    for i in ranked:
        group, dual = model.groups[i], duals.groups[i]
        per_k = abs(dual) * 1000
        if group.key == "node":
            kind = "node_max" if dual > 0 else "node_min"
            bound = dollars(group.high if dual > 0 else group.low)
            gain = None
            if i in resolved:
                gain = resolve(replace(problem, constraints=replace(con, node_bounds=_without(con, group.label,
                                                                                            kind))),
                               lambda m, i=i, kind=kind: _model_without(m, i, kind))
            what = "cap" if dual > 0 else "floor"
            more = "extra" if dual > 0 else "less"
            words = (f"The {money_words(bound)} {what} on {node_words(group.label)} binds: each $1,000 {more} "
                     f"would add about {_amount(objective, per_k)} (dual)")
            if gain is not None:
                words += f"; dropping it would add {_amount(objective, gain)} (re-solved without it)"
            out.append(Binding(kind, node_words(group.label), dual, _cost(objective, gain), _method(gain),
                               words + "."))
        elif group.key == "period":
            words = (f"Period {group.label[0]}'s budget of {money_words(dollars(group.high))} binds: each extra "
                     f"$1,000 would add about {_amount(objective, per_k)} (dual).")
            out.append(Binding("period_budget", group.label[0], dual, None, "dual", words))
    out.extend(_cell_summary(model, cell_spend))
    return out


def _cell_summary(model: Model, cell_spend) -> list[Binding]:
    out = []
    stocked = int(np.sum(model.stocked_out))
    if stocked:
        threshold = model.problem.constraints.stockout_threshold
        out.append(Binding("stock_outs", _count(stocked, "cell", "cells"), 0.0, None, "dual",
                           f"{_count(stocked, 'cell is', 'cells are')} out of stock (stock-out probability above "
                           f"{threshold:.0%}) and {'gets' if stocked == 1 else 'get'} $0."))
    free = ~model.fixed & ~model.stocked_out
    at_max = int(np.sum(free & (cell_spend == model.cell_hi)))
    at_min = int(np.sum(free & (cell_spend == model.cell_lo) & (model.cell_lo > 0)))
    if at_max or at_min:
        out.append(Binding("cell_bounds", _count(at_max + at_min, "cell", "cells"), 0.0, None, "dual",
                           f"{_count(at_max, 'cell sits', 'cells sit')} at the max spend and {at_min} at the min."))
    return out


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _without(con, label, kind):
    bounds = []
    for bound in con.node_bounds:
        if tuple(bound.path) == tuple(label):
            bound = replace(bound, max=None) if kind == "node_max" else replace(bound, min=None)
        bounds.append(bound)
    return tuple(bounds)


def _model_without(model: Model, index: int, kind: str) -> Model:
    group = model.groups[index]
    relaxed = replace(group, high=NO_CAP) if kind == "node_max" else replace(group, low=0)
    return replace(model, groups=[relaxed if i == index else g for i, g in enumerate(model.groups)])


def _cost(objective: Objective, gain: float | None):
    if gain is None:
        return None
    return gain if objective is Objective.CONVERSIONS else _money(gain)


def _method(gain) -> str:
    return "dual" if gain is None else "re-solve"


def _approximation_notes(model: Model, x, sales_v, model_sales_v) -> list[str]:
    cs = model.curves
    notes = []
    if len(cs.pq_idx):
        err = curves.pq_error(cs.pq, cs.vmax[cs.pq_idx], cs.h[cs.pq_idx], cs.k[cs.pq_idx])
        notes.append(f"{_count(len(cs.pq_idx), 'Hill curve', 'Hill curves')} with k ≠ 1 optimized on a "
                     f"{curves.PQ_SEGMENTS}-piece "
                     f"piecewise-quadratic model of their concave envelope (largest gap {float(np.max(err)):.3%} "
                     f"of the curve's vmax).")
    s_shaped = np.flatnonzero((cs.form == "hill") & (cs.k > 1))
    if len(s_shaped):
        star = np.minimum(curves.tangent_point(cs.h[s_shaped], cs.k[s_shaped]), model.hi[s_shaped])
        inside = (x[s_shaped] > 0) & (x[s_shaped] < star * (1 - 1e-9))
        notes.append(f"{_count(len(s_shaped), 'Hill curve is', 'Hill curves are')} S-shaped (k > 1): the "
                     f"optimizer used the concave envelope; {int(np.sum(inside))} of them get a spend on the "
                     f"envelope's straight part, where the true curve is lower.")
    if len(cs.pq_idx):
        notes.append(f"Figures are on the true curves: {money_words(math.fsum(sales_v))} of incremental sales (the "
                     f"curves the optimizer used say {money_words(math.fsum(model_sales_v))}).")
    if model.n_periods:
        notes.append(f"Flighted over {model.n_periods} periods: each period's spend is capped by its budget; cell "
                     f"and node bounds apply to the totals.")
    return notes
