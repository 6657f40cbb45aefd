"""Entry points: `allocate` (engine dispatch, cent rounding with a guard that every constraint still holds on
the true curves, and the explained Allocation) and `min_spend_for_target` (the inverse problem)."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from decimal import Decimal

import numpy as np

from campaigns.optimize import curves, fast
from campaigns.optimize.errors import Infeasible, ProblemError
from campaigns.optimize.explain import build_allocation
from campaigns.optimize.fast import EngineInfeasible, RawSolution
from campaigns.optimize.infeasible import explain_infeasible, flighting_range, money_words, spend_conflicts
from campaigns.optimize.model import Model, build_model, dollars
from campaigns.optimize.problem import Objective, Problem, money
from campaigns.optimize.result import Allocation
from campaigns.optimize.rounding import feasible_ranges, round_plan, tree_of
from campaigns.optimize.thompson import intervals
from campaigns.optimize.validate import validate

ENGINES = ("auto", "fast", "reference")
GUARD_ROUNDS = 10

UNKNOWN_ENGINE = "unknown engine {value!r}; use auto, fast or reference"
FAST_CANNOT = "the fast engine cannot take {why}; use auto or reference"
ONE_TARGET = "give exactly one of target_sales and target_margin"
ROUNDING_BREAKS = ("{floor} holds before rounding to cents but not after it, even with a safety margin: the floor "
                   "is within rounding of the best achievable.")
ENVELOPE_BREAKS = ("{floor} holds on the concave envelope the optimizer uses for S-shaped Hill curves (k > 1) but "
                   "not on the true curves, even with a safety margin and with cells kept off the envelope's "
                   "straight part.")
TARGET_OUT_OF_REACH = "The {what} target of {target} is out of reach; the best achievable is {best} at {spend}."


def engine_runner(engine: str):
    """A function model → RawSolution for `engine` ("auto": fast where it applies, else the reference)."""
    if engine not in ENGINES:
        raise ProblemError("engine", UNKNOWN_ENGINE.format(value=engine))

    def run(model: Model) -> RawSolution:
        if engine != "reference":
            try:
                return fast.solve(model)
            except fast.Unsupported as exc:
                if engine == "fast":
                    raise ProblemError("engine", FAST_CANNOT.format(why=exc)) from None
        from campaigns.optimize import reference

        return reference.solve(model)

    return run


def solve_rounded(model: Model, run) -> tuple[RawSolution, np.ndarray]:
    """Solve, round to cents, and check the ROAS/CPA floors on the true curves; where rounding (or the gap
    between the optimizer's curve and the true one) breaks a floor, solve again with a margin on it.

    S-shaped cells left on their envelope's straight part (0 < spend < s*, where the true curve is well below
    the envelope) are held at their minimum and the rest re-planned; the better of the two plans on the true
    curves is kept (a plan counts only if its floors hold on the true curves).
    """
    conflict = spend_conflicts(model)
    if conflict is not None:
        raise conflict
    margins = {eff.name: 0.0 for eff in model.efficiency}
    started = time.perf_counter()
    current, pins, best, envelope_only = model, 0, None, False
    solved_margins = dict(margins)  # the last margins the engine could meet
    for attempt in range(GUARD_ROUNDS):
        guarded = current.with_efficiency([replace(e, margin=margins[e.name]) for e in current.efficiency])
        try:
            raw = run(guarded)
        except EngineInfeasible:
            if attempt == 0:
                raise explain_infeasible(model, run) from None
            # The margin asked for more slack than the floor leaves: back off halfway.
            margins = {k: 0.5 * (solved_margins[k] + v) for k, v in margins.items()}
            continue
        solved_margins = dict(margins)
        spend = round_plan(current, raw.x)
        x = spend / 100.0
        sales = model.curves.true_value(x)
        short = {e.name: -e.slack(sales, x) for e in model.efficiency}
        holds = all(v <= 0 for v in short.values())
        modelled = model.curves.model_value(x)
        envelope_only = not holds and all(e.slack(modelled, x) >= 0 for e in model.efficiency)
        if holds:
            value = model.objective_value(x, sales)
            if best is None or value > best[0]:
                best = (value, raw, spend)
        straight = _on_straight_part(current, raw.x)
        if straight.any() and pins < 3:
            pinned = _pinned(current, straight)
            if spend_conflicts(pinned) is None:  # the floors may need those cells' spend
                current, pins = pinned, pins + 1
                continue
            pins = 3
        if holds:
            break
        scale = max(float(np.sum(x)), 1.0)
        for eff in model.efficiency:
            if short[eff.name] > 0:
                margins[eff.name] += 2.0 * short[eff.name] + 1e-7 * eff.ratio * scale
    if best is None:
        raise _guard_failed(model, envelope_only)
    _, raw, spend = best
    raw.seconds = time.perf_counter() - started
    return raw, spend


def _on_straight_part(model: Model, x: np.ndarray) -> np.ndarray:
    cs = model.curves
    star = np.where((cs.form == "hill") & (cs.k > 1), np.minimum(curves.tangent_point(cs.h, cs.k), model.hi), 0.0)
    return (x > model.lo + 1e-9) & (x < star * (1 - 1e-6))


def _pinned(model: Model, which: np.ndarray) -> Model:
    """`model` with the variables `which` held at their lower bound."""
    hi = np.where(which, model.lo, model.hi)
    if model.n_periods:
        return replace(model, hi=hi)
    cell_hi = np.where(which, model.cell_lo, model.cell_hi)
    return replace(model, hi=hi, cell_hi=cell_hi)


def _guard_failed(model: Model, envelope_only: bool) -> Infeasible:
    template = ENVELOPE_BREAKS if envelope_only else ROUNDING_BREAKS
    return Infeasible(template.format(floor=_short_floors(model)),
                      conflicts=[f"constraints.{e.name}" for e in model.efficiency])


def _short_floors(model: Model) -> str:
    from campaigns.optimize.infeasible import floor_words

    return " and ".join(floor_words(model, e) for e in model.efficiency)


def allocate(problem: Problem, engine: str = "auto", *, costs: bool = True) -> Allocation:
    """The optimal plan for `problem`. Raises ProblemError (bad input) or Infeasible (with the conflicting
    constraints and the best achievable value). `costs=False` skips the re-solves that price the binding
    constraints (their dual values are still given)."""
    validate(problem)
    run = engine_runner(engine)
    model = build_model(problem)
    raw, spend = solve_rounded(model, run)
    allocation = build_allocation(problem, model, raw, spend, run=run, costs=costs)
    allocation.intervals = intervals(problem, model, spend)
    return allocation


def min_spend_for_target(problem: Problem, *, target_sales: Decimal | None = None,
                         target_margin: Decimal | None = None, engine: str = "auto") -> Allocation:
    """The least spend whose best plan (under the same constraints, the budget as the upper limit) reaches the
    incremental-sales or margin target: a bisection on the budget to the cent. The plan it returns spends that
    minimum; a cent less of budget misses the target."""
    if (target_sales is None) == (target_margin is None):
        raise ProblemError("target", ONE_TARGET)
    field = "target_sales" if target_sales is not None else "target_margin"
    target = money(target_sales if target_sales is not None else target_margin, field)
    validate(problem)
    run = engine_runner(engine)
    objective = Objective.REVENUE if target_sales is not None else Objective.MARGIN
    con = problem.constraints
    base = replace(problem, objective=objective, constraints=replace(con, spend_all=False))
    model = build_model(base)
    conflict = spend_conflicts(model)
    if conflict is not None:
        raise conflict
    if model.n_periods:
        least, most = flighting_range(model)
    else:
        lo_range, hi_range, _ = feasible_ranges(model, tree_of(model))
        least, most = lo_range[0], hi_range[0]
    top = model.budget if model.budget is not None else (int(most) if np.isfinite(most) else None)
    if top is None:
        raise ProblemError("constraints.budget", "the inverse problem needs a budget (the most it may spend)")
    floor = int(math.ceil(least - 1e-6))

    def reach(budget: int, *, required: bool = False):
        try:
            raw, spend = solve_rounded(model.with_budget(budget), run)
        except Infeasible:
            if required:
                raise
            return False, -np.inf, None, None  # below the least spend the floors force
        x = spend / 100.0
        sales = model.curves.true_value(x)
        if objective is Objective.REVENUE:
            value = float(np.sum(sales))
        else:
            rates = np.array([c.margin_rate for c in problem.cells])[model.var_cell]
            value = float(np.sum(rates * sales) - np.sum(x))
        return Decimal(f"{value:.2f}") >= target, value, raw, spend

    ok, value, raw, spend = reach(top, required=True)
    if not ok:
        what = "sales" if objective is Objective.REVENUE else "margin"
        raise Infeasible(TARGET_OUT_OF_REACH.format(what=what, target=money_words(target), best=money_words(value),
                                                    spend=money_words(dollars(int(np.sum(spend))))),
                         conflicts=[field, "constraints.budget"],
                         best_achievable={what: Decimal(f"{value:.2f}"), "spend": dollars(int(np.sum(spend)))})
    low, high = floor, top
    best = (raw, spend)
    first = reach(low) if low < high else (True, value, raw, spend)
    if first[0]:
        high, best = low, (first[2], first[3])
    while high - low > 1:
        mid = (low + high) // 2
        ok, value, raw, spend = reach(mid)
        if ok:
            high, best = mid, (raw, spend)
        else:
            low = mid
    raw, spend = best
    used = int(np.sum(spend))
    allocation = build_allocation(base, model, raw, spend, run=None)
    allocation.intervals = intervals(base, model, spend)
    what = "incremental sales" if objective is Objective.REVENUE else "incremental margin"
    share = con.reserve_share
    needed = (Decimal(used) / 100 / Decimal(str(1 - share))).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    allocation.notes = (*allocation.notes,
                        f"The least spend reaching {money_words(target)} of {what} is {money_words(dollars(used))}"
                        + (f" (a budget of {money_words(needed)} with the {share:.0%} reserve)" if share else "")
                        + "; one cent less of budget falls short.")
    allocation.target = {"metric": field, "target": target, "min_spend": dollars(used), "budget_needed": needed}
    return allocation
