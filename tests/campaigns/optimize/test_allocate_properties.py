"""Property: on random problems, every plan satisfies every constraint exactly after cent rounding — or the
problem is reported infeasible with its conflicts named."""

import math
from decimal import ROUND_FLOOR, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.optimize import Infeasible, allocate
from tests.campaigns.optimize.builders import random_problem

CENT = Decimal("0.01")


def _independent_violations(problem, plan) -> list[str]:
    """Every constraint of `problem` checked from scratch on `plan` (Decimal money, true curves)."""
    con = problem.constraints
    spend = {c.id: c.spend for c in plan.cells}
    out = []
    if any(s != s.quantize(CENT) or s < 0 for s in spend.values()):
        out.append("cents")
    total = sum(spend.values(), Decimal("0.00"))
    allocatable = (con.budget * (1 - Decimal(str(con.reserve_share)))).quantize(CENT, rounding=ROUND_FLOOR)
    if total > allocatable or (con.spend_all and total != allocatable):
        out.append("budget")
    if con.budget - total < con.budget * Decimal(str(con.reserve_share)):
        out.append("reserve")
    for c in problem.cells:
        s = spend[c.id]
        if s < c.min_spend or (c.max_spend is not None and s > c.max_spend):
            out.append(f"bounds {c.id}")
        if c.stockout_prob > con.stockout_threshold and s != 0:
            out.append(f"stock-out {c.id}")
        if c.inventory_cap is not None and s > c.inventory_cap:
            out.append(f"inventory {c.id}")
    for bound in con.node_bounds:
        node = sum((spend[c.id] for c in problem.cells if c.path[:len(bound.path)] == bound.path), Decimal("0.00"))
        if (bound.min is not None and node < bound.min) or (bound.max is not None and node > bound.max):
            out.append(f"node {'/'.join(bound.path)}")
    sales = {c.id: c.curve.value(float(spend[c.id])) for c in problem.cells}
    spent = math.fsum(float(s) for s in spend.values())
    if con.min_roas is not None:
        weight = {c.id: (1 / c.incrementality if con.roas_basis == "attributed" else 1.0) for c in problem.cells}
        if math.fsum(weight[k] * v for k, v in sales.items()) < con.min_roas * spent:
            out.append("min_roas")
    if con.max_cpa is not None:
        conversions = math.fsum(sales[c.id] / float(c.price) for c in problem.cells)
        if spent > float(con.max_cpa) * conversions:
            out.append("max_cpa")
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 14),
    min_roas=st.sampled_from([None, 2.0, 4.0, 6.0, 9.0]),
    max_cpa=st.sampled_from([None, Decimal("0.80"), Decimal("1.50")]),
    objective=st.sampled_from(["margin", "revenue", "conversions"]),
    budget=st.sampled_from([500, 20_000, 150_000]),
    spend_all=st.sampled_from([False, False, False, True]),
    floors=st.sampled_from([False, False, False, True]),
    reserve=st.sampled_from([0.0, 0.1, 0.25]),
    forms=st.sampled_from([("exp",), ("exp", "hill1"), ("exp", "hill1", "hill")]),
)
def test_every_plan_satisfies_every_constraint_after_rounding(seed, n, min_roas, max_cpa, objective, budget,
                                                              spend_all, floors, reserve, forms):
    # given a random problem
    problem = random_problem(seed, n, forms=forms, min_roas=min_roas, max_cpa=max_cpa, objective=objective,
                             budget=budget, spend_all=spend_all, floors=floors, reserve=reserve)

    # when it is allocated
    try:
        plan = allocate(problem, costs=False)
    except Infeasible as infeasible:
        # then either it is infeasible, with a message and the conflicting constraints named
        assert infeasible.message
        assert infeasible.conflicts
        return

    # or every constraint holds exactly, checked independently and by the plan's own checks
    assert _independent_violations(problem, plan) == []
    assert [c.constraint for c in plan.checks if not c.holds] == []
