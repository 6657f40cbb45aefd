"""The reference engine: the whole model (every constraint, flighting included) as one convex program in CVXPY,
solved by Clarabel, with the constraints' dual values.

Curves enter as hypograph constraints y ≤ curve(s), one per variable, and y stands for the sales everywhere
(objective, ROAS, CPA). exp is exact (`cp.exp`); Hill k = 1 is exact (vmax − vmax·h·inv_pos(s + h)); every
other Hill curve (k < 1, and the concave envelope of k > 1) is the PQ model of `curves` — the same one the fast
engine reads — written as per-segment concave quadratics over segment fills u ∈ [0, 1] with s = Σ length · u
(the solver fills the steeper segments first because the model is concave). Money is scaled by a typical curve
scale so the solver sees numbers near 1. cvxpy is imported inside `solve`: the web process never loads it.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp

from campaigns.optimize.fast import Duals, EngineInfeasible, RawSolution
from campaigns.optimize.model import NO_CAP, Model

OK = ("optimal", "optimal_inaccurate")


def _hypograph(cp, model: Model, s, y, scale: float) -> list:
    """Constraints y ≤ model curve(s) per variable (money/scale); y then stands for the sales everywhere."""
    cs = model.curves
    out = []
    e, h1, q = cs.exp_idx, cs.h1_idx, cs.pq_idx
    if len(e):
        v = cs.vmax[e] / scale
        out.append(y[e] <= v - cp.multiply(v, cp.exp(cp.multiply(-scale / cs.h[e], s[e]))))
    if len(h1):
        v, hs = cs.vmax[h1] / scale, cs.h[h1] / scale
        out.append(y[h1] <= v - cp.multiply(v * hs, cp.inv_pos(s[h1] + hs)))
    if len(q):
        # u is each segment's fill as a share of its length: the coefficients stay on the scale of the
        # segment's value however short the segment (k < 1 curves have very short ones near 0).
        # Rows with no room (s_max = 0: out of stock) are left out: empty segments only confuse the solver.
        room = cs.pq.x[:, -1] > 0
        if (~room).any():
            out.append(y[q[~room]] <= 0)
        if room.any():
            pq, q = cs.pq.rows(np.flatnonzero(room)), q[room]
            u = cp.Variable(pq.ds.shape)
            linear = pq.ds * pq.length / scale
            quadratic = (pq.ds - pq.de) * pq.length / 2 / scale
            value = cp.sum(cp.multiply(linear, u) - cp.multiply(quadratic, cp.square(u)), axis=1)
            out += [u >= 0, u <= 1, s[q] == cp.sum(cp.multiply(pq.length / scale, u), axis=1), y[q] <= value]
    return out


# Clarabel occasionally stalls ("insufficient progress") on these mixed exp-cone / second-order-cone programs;
# a shorter step or another money scale gets through. Tried in order until one reports an optimum.
ATTEMPTS = (({"max_step_fraction": 0.8}, 1.0), ({}, 1.0), ({"equilibrate_enable": False}, 1.0),
            ({"max_step_fraction": 0.8}, 10.0), ({"max_step_fraction": 0.6}, 0.1))


def solve(model: Model, *, attempts=ATTEMPTS) -> RawSolution:
    """The optimum of `model`; `attempts` are (Clarabel settings, money-scale factor) tried in order."""
    import cvxpy as cp

    started = time.perf_counter()
    cs = model.curves
    positive_h = cs.h[cs.h > 0]
    base_scale = float(np.median(positive_h)) if len(positive_h) else 1.0
    fallback, failures = None, []
    for settings, factor in attempts:
        try:
            result = _attempt(cp, model, base_scale * factor, settings)
        except cp.error.SolverError as exc:
            failures.append(str(exc))
            continue
        if result is None:
            raise EngineInfeasible("reference")
        if result.notes:
            fallback = fallback or result
            continue
        result.seconds = time.perf_counter() - started
        return result
    if fallback is not None:
        fallback.seconds = time.perf_counter() - started
        return fallback
    raise RuntimeError(f"Clarabel failed on every attempt: {failures[-1]}")


def _attempt(cp, model: Model, scale: float, settings: dict) -> RawSolution | None:
    cs = model.curves
    n = model.n_vars
    s = cp.Variable(n)
    y = cp.Variable(n)
    constraints = [s >= model.lo / scale, s <= model.hi / scale, *_hypograph(cp, model, s, y, scale)]
    objective = model.w @ y - model.c * cp.sum(s)
    budget = None
    if model.budget is not None:
        budget = (cp.sum(s) == model.budget / 100.0 / scale) if model.spend_all else (
            cp.sum(s) <= model.budget / 100.0 / scale)
        constraints.append(budget)
    caps, floors = _group_rows(model, scale)
    cap_con = floor_con = None
    if caps[0].shape[0]:
        cap_con = caps[0] @ s <= caps[1]
        constraints.append(cap_con)
    if floors[0].shape[0]:
        floor_con = floors[0] @ s >= floors[1]
        constraints.append(floor_con)
    eff_con = []
    for eff in model.efficiency:
        con = eff.weight @ y >= eff.ratio * cp.sum(s) + eff.margin / scale
        eff_con.append(con)
        constraints.append(con)
    problem = cp.Problem(cp.Maximize(objective), constraints)
    with warnings.catch_warnings():  # an inaccurate optimum is handled below (the next attempt, or a note)
        warnings.simplefilter("ignore", UserWarning)
        problem.solve(solver="CLARABEL", **settings)
    if problem.status in ("infeasible", "infeasible_inaccurate"):
        return None
    if problem.status not in OK:
        raise cp.error.SolverError(f"status {problem.status}")
    x = np.clip(np.asarray(s.value, dtype=float) * scale, model.lo, model.hi)
    duals = Duals(groups=[0.0] * len(model.groups))
    if budget is not None:
        duals.budget = float(budget.dual_value) if budget.dual_value is not None else 0.0
    if cap_con is not None:
        for row, group in enumerate(caps[2]):
            duals.groups[group] += float(cap_con.dual_value[row])
    if floor_con is not None:
        for row, group in enumerate(floors[2]):
            duals.groups[group] -= float(floor_con.dual_value[row])
    duals.efficiency = {eff.name: float(con.dual_value) for eff, con in zip(model.efficiency, eff_con, strict=True)}
    sales = cs.model_value(x)
    notes = [] if problem.status == "optimal" else ["Clarabel reported an inaccurate optimum."]
    return RawSolution(x=x, engine="reference", duals=duals, seconds=0.0, objective=model.objective_value(x, sales),
                       notes=notes)


def _group_rows(model: Model, scale: float):
    """Sparse membership rows for the finite caps and the positive floors, with the group each row is."""
    out = []
    for side in ("high", "low"):
        rows, cols, bounds, which = [], [], [], []
        for index, group in enumerate(model.groups):
            value = getattr(group, side)
            if (side == "high" and value >= NO_CAP) or (side == "low" and value <= 0):
                continue
            rows.append(np.full(len(group.members), len(bounds)))
            cols.append(group.members)
            bounds.append(value / 100.0 / scale)
            which.append(index)
        if bounds:
            matrix = sp.csr_matrix((np.ones(sum(len(c) for c in cols)), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(len(bounds), model.n_vars))
        else:
            matrix = sp.csr_matrix((0, model.n_vars))
        out.append((matrix, np.array(bounds), which))
    return out[0], out[1]
