"""Posterior draws: credible intervals of a plan (the same spends valued under each joint draw j — every cell's
j-th sample, cycling through shorter lists) and Thompson sampling (one draw per cell, then a plan under the same
constraints)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from campaigns.optimize import curves
from campaigns.optimize.curves import Curve
from campaigns.optimize.errors import ProblemError
from campaigns.optimize.model import Model
from campaigns.optimize.problem import Problem
from campaigns.optimize.result import Allocation, Interval
from campaigns.optimize.validate import validate

UNKNOWN_CELL = "no cell has id {value!r}"
QUANTILES = (5.0, 95.0)


def intervals(problem: Problem, model: Model, spend: np.ndarray) -> dict[str, Interval]:
    """5% / 95% credible intervals of the plan's incremental revenue, margin, ROAS (incremental, attributed) and
    conversions, from the cells' posterior samples; {} when no cell carries samples."""
    from campaigns.optimize.explain import _money

    cells = problem.cells
    draws = max((len(c.samples) for c in cells), default=0)
    if not draws:
        return {}
    n = len(cells)
    form = np.array([c.curve.form for c in cells], dtype=object)
    params = np.empty((3, n, draws))
    for i, cell in enumerate(cells):
        for j in range(draws):
            curve = cell.samples[j % len(cell.samples)] if cell.samples else cell.curve
            params[:, i, j] = curve.vmax, curve.h, curve.k if curve.form == "hill" else 1.0
    periods = problem.constraints.periods
    weight = np.array([p.weight for p in periods])[model.var_period] if periods else np.ones(model.n_vars)
    x = spend / 100.0
    total = math.fsum(x)
    margin_rate = np.array([c.margin_rate for c in cells])
    incrementality = np.array([c.incrementality for c in cells])
    price = np.array([float(c.price) if c.price is not None else np.nan for c in cells])
    vc = model.var_cell
    is_exp = form[vc] == "exp"
    results = {key: [] for key in ("incremental_revenue", "incremental_margin", "roas_incremental",
                                   "roas_attributed", "conversions")}
    for j in range(draws):
        vmax, h, k = params[0, vc, j] * weight, params[1, vc, j], params[2, vc, j]
        sales = np.where(is_exp, curves.value("exp", vmax, h, 1.0, x), curves.value("hill", vmax, h, k, x))
        cell_sales = np.bincount(vc, sales, minlength=n)
        revenue = math.fsum(cell_sales)
        results["incremental_revenue"].append(revenue)
        results["incremental_margin"].append(math.fsum(margin_rate * cell_sales) - total)
        results["roas_incremental"].append(revenue / total if total else math.nan)
        results["roas_attributed"].append(math.fsum(cell_sales / incrementality) / total if total else math.nan)
        results["conversions"].append(math.fsum(cell_sales / price))
    out = {}
    for key, values in results.items():
        values = np.array(values)
        if np.isnan(values).all():
            continue
        low, high = np.nanpercentile(values, QUANTILES)
        money = key.startswith("incremental")
        out[key] = Interval(_money(low) if money else float(low), _money(high) if money else float(high))
    return out


def thompson_allocation(problem: Problem, draws: Mapping[str, Sequence[Curve]] | None = None,
                        rng: np.random.Generator | int | None = None, *, engine: str = "auto") -> Allocation:
    """Thompson sampling: one posterior draw per cell (uniformly among its samples), then the optimal plan for
    those curves under the same constraints. `draws` maps cell id → posterior draws (default: each cell's
    `samples`); cells without draws keep their curve. The plan is valued on the drawn curves, and
    `thompson_draws` says which draw each cell got."""
    from campaigns.optimize.solve import allocate

    validate(problem)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if draws is None:
        draws = {c.id: c.samples for c in problem.cells if c.samples}
    ids = {c.id for c in problem.cells}
    for cell_id in draws:
        if cell_id not in ids:
            raise ProblemError("draws", UNKNOWN_CELL.format(value=cell_id))
    chosen: dict[str, int] = {}
    cells = []
    for cell in problem.cells:
        samples = draws.get(cell.id) or ()
        if samples:
            j = int(generator.integers(len(samples)))
            chosen[cell.id] = j
            cell = replace(cell, curve=samples[j], samples=())
        else:
            cell = replace(cell, samples=())
        cells.append(cell)
    allocation = allocate(replace(problem, cells=tuple(cells)), engine=engine)
    allocation.thompson_draws = chosen
    return allocation
