"""The checks every problem passes before any solving: each failure is a ProblemError naming the field."""

from __future__ import annotations

from decimal import Decimal

from campaigns.optimize.curves import FORMS, Curve
from campaigns.optimize.errors import ProblemError
from campaigns.optimize.problem import (
    DUPLICATE,
    LEAF_IS_NODE,
    MIN_ABOVE_MAX,
    NEGATIVE,
    NO_CELLS,
    NO_PATH,
    NOT_MONEY,
    PATH_LENGTH,
    PERIODS_NEED_BUDGET,
    POSITIVE,
    PRICE_NEEDED,
    RESERVE,
    ROAS_BASES,
    SPEND_ALL_NEEDS_BUDGET,
    UNBOUNDED,
    UNKNOWN_BASIS,
    UNKNOWN_FORM,
    UNKNOWN_NODE,
    UNKNOWN_OBJECTIVE,
    Objective,
    Problem,
    finite_number,
    share_between,
)


def _curve(curve: Curve, field: str) -> None:
    if curve.form not in FORMS:
        raise ProblemError(f"{field}.form", UNKNOWN_FORM.format(value=curve.form))
    if finite_number(curve.vmax, f"{field}.vmax") < 0:
        raise ProblemError(f"{field}.vmax", NEGATIVE)
    if finite_number(curve.h, f"{field}.h") <= 0:
        raise ProblemError(f"{field}.h", POSITIVE)
    if finite_number(curve.k, f"{field}.k") <= 0:
        raise ProblemError(f"{field}.k", POSITIVE)


def validate(problem: Problem) -> None:
    """Raise ProblemError, naming the field, for anything a solver cannot take as it is."""
    if not isinstance(problem.objective, Objective):
        if problem.objective not in {o.value for o in Objective}:
            raise ProblemError("objective", UNKNOWN_OBJECTIVE.format(value=problem.objective))
    objective = Objective(problem.objective)
    constraints = problem.constraints
    if not problem.cells:
        raise ProblemError("cells", NO_CELLS)
    ids: set[str] = set()
    paths: set[tuple[str, ...]] = set()
    for i, cell in enumerate(problem.cells):
        field = f"cells[{i}]"
        if cell.id in ids:
            raise ProblemError(f"{field}.id", DUPLICATE.format(what="cell id", value=cell.id))
        ids.add(cell.id)
        if not cell.path:
            raise ProblemError(f"{field}.path", NO_PATH)
        if cell.path in paths:
            raise ProblemError(f"{field}.path", DUPLICATE.format(what="cell path", value="/".join(cell.path)))
        paths.add(cell.path)
        if problem.levels and len(cell.path) != len(problem.levels):
            raise ProblemError(f"{field}.path", PATH_LENGTH.format(value="/".join(cell.path), got=len(cell.path),
                                                                   want=len(problem.levels)))
        _curve(cell.curve, f"{field}.curve")
        for j, sample in enumerate(cell.samples):
            _curve(sample, f"{field}.samples[{j}]")
        share_between(cell.margin_rate, f"{field}.margin_rate", 0.0, 1.0)
        share_between(cell.incrementality, f"{field}.incrementality", 0.0, 1.0, open_low=True)
        share_between(cell.stockout_prob, f"{field}.stockout_prob", 0.0, 1.0)
        for name in ("current_spend", "min_spend", "max_spend", "inventory_cap", "price"):
            amount = getattr(cell, name)
            if amount is not None and not (isinstance(amount, Decimal) and amount.is_finite() and amount >= 0):
                raise ProblemError(f"{field}.{name}", NOT_MONEY)
        if cell.max_spend is not None and cell.min_spend > cell.max_spend:
            raise ProblemError(f"{field}.min_spend", MIN_ABOVE_MAX.format(low=cell.min_spend, high=cell.max_spend))
        if cell.price is not None and cell.price <= 0:
            raise ProblemError(f"{field}.price", POSITIVE)
        if cell.price is None and (objective is Objective.CONVERSIONS or constraints.max_cpa is not None):
            why = "the conversions objective" if objective is Objective.CONVERSIONS else "max_cpa"
            raise ProblemError(f"{field}.price", PRICE_NEEDED.format(why=why))
    inner = {path[:d] for path in paths for d in range(1, len(path))}
    for i, cell in enumerate(problem.cells):
        if cell.path in inner:
            raise ProblemError(f"cells[{i}].path", LEAF_IS_NODE.format(value="/".join(cell.path)))
    _validate_constraints(problem, objective, inner | paths)


def _validate_constraints(problem: Problem, objective: Objective, nodes: set[tuple[str, ...]]) -> None:
    c = problem.constraints
    if c.budget is not None and not (isinstance(c.budget, Decimal) and c.budget.is_finite() and c.budget >= 0):
        raise ProblemError("constraints.budget", NOT_MONEY)
    if c.spend_all and c.budget is None:
        raise ProblemError("constraints.spend_all", SPEND_ALL_NEEDS_BUDGET)
    if c.min_roas is not None and finite_number(c.min_roas, "constraints.min_roas") <= 0:
        raise ProblemError("constraints.min_roas", POSITIVE)
    if c.roas_basis not in ROAS_BASES:
        raise ProblemError("constraints.roas_basis", UNKNOWN_BASIS.format(value=c.roas_basis))
    if c.max_cpa is not None and not (isinstance(c.max_cpa, Decimal) and c.max_cpa.is_finite() and c.max_cpa > 0):
        raise ProblemError("constraints.max_cpa", POSITIVE)
    if not 0.0 <= finite_number(c.reserve_share, "constraints.reserve_share") < 1.0:
        raise ProblemError("constraints.reserve_share", RESERVE)
    share_between(c.stockout_threshold, "constraints.stockout_threshold", 0.0, 1.0)
    for i, bound in enumerate(c.node_bounds):
        field = f"constraints.node_bounds[{i}]"
        if tuple(bound.path) not in nodes:
            raise ProblemError(f"{field}.path", UNKNOWN_NODE.format(value="/".join(bound.path)))
        for name in ("min", "max"):
            amount = getattr(bound, name)
            if amount is not None and not (isinstance(amount, Decimal) and amount.is_finite() and amount >= 0):
                raise ProblemError(f"{field}.{name}", NOT_MONEY)
        if bound.min is not None and bound.max is not None and bound.min > bound.max:
            raise ProblemError(f"{field}.min", MIN_ABOVE_MAX.format(low=bound.min, high=bound.max))
    for i, path in enumerate(c.fixed_nodes):
        if tuple(path) not in nodes:
            raise ProblemError(f"constraints.fixed_nodes[{i}]", UNKNOWN_NODE.format(value="/".join(path)))
    period_ids: set[str] = set()
    for i, period in enumerate(c.periods):
        field = f"constraints.periods[{i}]"
        if period.id in period_ids:
            raise ProblemError(f"{field}.id", DUPLICATE.format(what="period", value=period.id))
        period_ids.add(period.id)
        if period.budget is None:
            raise ProblemError(f"{field}.budget", PERIODS_NEED_BUDGET)
        if not (isinstance(period.budget, Decimal) and period.budget.is_finite() and period.budget >= 0):
            raise ProblemError(f"{field}.budget", NOT_MONEY)
        if finite_number(period.weight, f"{field}.weight") <= 0:
            raise ProblemError(f"{field}.weight", POSITIVE)
    bounded = (c.budget is not None or c.min_roas is not None or c.max_cpa is not None or bool(c.periods)
               or all(cell.max_spend is not None or cell.inventory_cap is not None or cell.fixed
                      for cell in problem.cells))
    if objective is not Objective.MARGIN and not bounded:
        raise ProblemError("constraints.budget", UNBOUNDED.format(objective=objective.value))


