"""Why no plan exists: spend bounds that clash (found exactly, bottom-up over the nested bounds) or a ROAS / CPA
floor above what the forced spend can reach (the best achievable ratio, by Dinkelbach's method: repeatedly
maximize Σ weight·sales − r·Σ spend with r the last plan's ratio, which climbs to the best ratio in a few solves).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np

from campaigns.optimize.errors import Infeasible
from campaigns.optimize.fast import EngineInfeasible, RawSolution
from campaigns.optimize.model import NO_CAP, Efficiency, Model, dollars
from campaigns.optimize.rounding import feasible_ranges, tree_of

FLOOR_TOO_HIGH = ("The floor of {floor} on {node} is above the most its cells can take ({most}: their max spends, "
                  "stock-outs, inventory caps and the caps below it).")
CAP_TOO_LOW = ("The cap of {cap} on {node} is below what its cells must get ({least}: their min spends, fixed "
               "spends and the floors below it).")
BUDGET_TOO_LOW = ("The allocatable budget of {budget} is below what the cells must get ({least}: min spends, fixed "
                  "spends and node floors).")
BUDGET_TOO_HIGH = ("spend_all needs the whole allocatable budget of {budget} spent, but the cells can take at most "
                   "{most} (max spends, stock-outs, inventory caps and node caps).")
RATIO_INFEASIBLE = "{floor} is infeasible; the best achievable is {best} at {spend}{why}."
BOTH_INFEASIBLE = ("{first} and {second} cannot both hold; with {second} the best achievable {what} is {best} at "
                   "{spend}{why}.")
FLIGHTING_INFEASIBLE = ("The spend bounds cannot all hold across the periods: the period budgets total {periods}, "
                        "the allocatable budget is {budget}, the cells' own minimums add up to {least}, and the node "
                        "floors and caps apply to the totals.")
GENERIC = "The constraints cannot all hold together."


def money_words(value: Decimal | float) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"${amount:,.2f}"


def node_words(path: tuple[str, ...]) -> str:
    return " › ".join(path) if path else "the whole plan"


def floor_words(model: Model, eff: Efficiency) -> str:
    con = model.problem.constraints
    if eff.name == "min_roas":
        return f"ROAS ≥ {con.min_roas:.2f} ({con.roas_basis})"
    return f"CPA ≤ {money_words(con.max_cpa)}"


def spend_conflicts(model: Model) -> Infeasible | None:
    """The spend bounds alone (budget, reserve, cell and node bounds, stock-outs, fixed cells) cannot hold."""
    if model.n_periods:
        return _flighting_conflicts(model)
    tree = tree_of(model)
    _, _, empty = feasible_ranges(model, tree)
    if not empty:
        return None
    messages, conflicts = [], []
    for t, least, most in empty:
        if t == 0:
            if model.spend_all and most < tree.low[0]:
                messages.append(BUDGET_TOO_HIGH.format(budget=money_words(dollars(model.budget)),
                                                       most=money_words(most / 100)))
                conflicts.append("constraints.spend_all")
            else:
                messages.append(BUDGET_TOO_LOW.format(budget=money_words(dollars(model.budget)),
                                                      least=money_words(least / 100)))
                conflicts.append("constraints.budget")
            continue
        group = model.groups[tree.group_ids[t - 1]]
        if least > tree.high[t]:
            messages.append(CAP_TOO_LOW.format(cap=money_words(dollars(group.high)), node=node_words(group.label),
                                               least=money_words(least / 100)))
        else:
            messages.append(FLOOR_TOO_HIGH.format(floor=money_words(dollars(group.low)),
                                                  node=node_words(group.label), most=money_words(most / 100)))
        conflicts.append(f"constraints.node_bounds[{'/'.join(group.label)}]")
    t, least, most = empty[0]
    best = {"least_spend": dollars(int(least)), "most_spend": dollars(int(most)) if math.isfinite(most) else None}
    return Infeasible(" ".join(messages), conflicts=conflicts, best_achievable=best)


def flighting_range(model: Model) -> tuple[float, float] | None:
    """With flighting, the least and most total spend (cents) the spend bounds allow — a linear program (HiGHS),
    exact where the nested check does not apply — or None when they cannot all hold."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    rows, cols, lows, highs = [], [], [], []
    groups = [(g.members, g.low, g.high) for g in model.groups]
    if model.budget is not None:
        groups.append((np.arange(model.n_vars), model.budget if model.spend_all else 0, model.budget))
    for r, (members, low, high) in enumerate(groups):
        rows.append(np.full(len(members), r))
        cols.append(members)
        lows.append(low)
        highs.append(high if high < NO_CAP else np.inf)
    matrix = sp.csr_matrix((np.ones(sum(len(c) for c in cols)), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(len(groups), model.n_vars))
    a_ub = sp.vstack([matrix, -matrix]).tocsr()
    b_ub = np.concatenate([np.array(highs, dtype=float), -np.array(lows, dtype=float)])
    keep = np.isfinite(b_ub)
    bounds = np.stack([model.lo * 100, model.hi * 100], axis=1)
    out = []
    for sign in (1.0, -1.0):
        result = linprog(np.full(model.n_vars, sign), A_ub=a_ub[keep], b_ub=b_ub[keep], bounds=bounds,
                         method="highs")
        if result.status == 2:
            return None
        out.append(sign * result.fun if result.status == 0 else (np.inf if sign < 0 else 0.0))
    return out[0], out[1]


def _flighting_conflicts(model: Model) -> Infeasible | None:
    if flighting_range(model) is not None:
        return None
    period_total = sum(g.high for g in model.groups if g.key == "period")
    least = int(np.sum(model.cell_lo))
    budget = model.budget if model.budget is not None else period_total
    return Infeasible(FLIGHTING_INFEASIBLE.format(periods=money_words(dollars(period_total)),
                                                  budget=money_words(dollars(budget)),
                                                  least=money_words(dollars(least))),
                      conflicts=["constraints.periods", "constraints.budget", "constraints.node_bounds"],
                      best_achievable={"most_spend": dollars(period_total)})


def best_ratio(model: Model, eff: Efficiency, run: Callable[[Model], RawSolution],
               others: list[Efficiency] | None = None) -> tuple[float, float]:
    """max Σ weight·sales / Σ spend under the spend bounds (and `others`): (ratio, spend in $)."""
    base = model.with_efficiency(list(others or [])).with_objective(eff.weight, 0.0)
    raw = run(base)
    spend = float(np.sum(raw.x))
    if spend <= 0:
        return math.inf, 0.0
    ratio = float(np.sum(eff.weight * model.curves.model_value(raw.x))) / spend
    for _ in range(60):
        raw = run(base.with_objective(eff.weight, ratio))
        spend = float(np.sum(raw.x))
        if spend <= 0:
            return ratio, 0.0
        gain = float(np.sum(eff.weight * model.curves.model_value(raw.x)))
        new = gain / spend
        if new <= ratio * (1 + 1e-10):
            break
        ratio = new
    return ratio, spend


def explain_infeasible(model: Model, run: Callable[[Model], RawSolution]) -> Infeasible:
    conflict = spend_conflicts(model)
    if conflict is not None:
        return conflict
    why = _forced_spend(model)
    conflicts = [f"constraints.{eff.name}" for eff in model.efficiency] + _forcing_fields(model)
    for eff in model.efficiency:
        ratio, spend = _safe_best(model, eff, run, [])
        if ratio is not None and ratio < eff.ratio * (1 - 1e-9):
            best = _ratio_words(model, eff, ratio)
            return Infeasible(RATIO_INFEASIBLE.format(floor=floor_words(model, eff), best=best,
                                                      spend=money_words(spend), why=why),
                              conflicts=[f"constraints.{eff.name}", *_forcing_fields(model)],
                              best_achievable=_best_dict(eff, ratio, spend, model))
    if len(model.efficiency) == 2:
        first, second = model.efficiency
        ratio, spend = _safe_best(model, first, run, [second])
        if ratio is not None:
            return Infeasible(BOTH_INFEASIBLE.format(first=floor_words(model, first), second=floor_words(model, second),
                                                     what="ROAS", best=_ratio_words(model, first, ratio),
                                                     spend=money_words(spend), why=why),
                              conflicts=conflicts, best_achievable=_best_dict(first, ratio, spend, model))
    return Infeasible(GENERIC, conflicts=conflicts)


def _safe_best(model, eff, run, others):
    try:
        return best_ratio(model, eff, run, others)
    except EngineInfeasible:
        return None, 0.0


def _ratio_words(model: Model, eff: Efficiency, ratio: float) -> str:
    if eff.name == "min_roas":
        return f"{ratio:.2f}"
    return money_words(float(model.problem.constraints.max_cpa) / ratio) if ratio > 0 else "none"


def _best_dict(eff: Efficiency, ratio: float, spend: float, model: Model) -> dict:
    spend_money = Decimal(str(round(spend, 2)))
    if eff.name == "min_roas":
        return {"roas": round(ratio, 4), "spend": spend_money}
    cpa = Decimal(str(float(model.problem.constraints.max_cpa) / ratio)).quantize(Decimal("0.01"))
    return {"cpa": cpa, "spend": spend_money}


def _forced_spend(model: Model) -> str:
    if model.spend_all:
        return " (spend_all: the whole allocatable budget must be spent)"
    least = int(np.sum(model.cell_lo))
    floors = [g for g in model.groups if g.key == "node" and g.low > 0]
    if floors or least:
        return " (the spend floors force at least that much)"
    return ""


def _forcing_fields(model: Model) -> list[str]:
    fields = []
    if model.spend_all:
        fields.append("constraints.spend_all")
    if any(g.key == "node" and g.low > 0 for g in model.groups):
        fields.append("constraints.node_bounds")
    if int(np.sum(model.cell_lo)):
        fields.append("cells.min_spend")
    return fields
