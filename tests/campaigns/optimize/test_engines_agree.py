"""The fast engine returns the reference (CVXPY/Clarabel) optimum on the same model, and dispatch picks the
reference where the fast path does not apply."""

from decimal import Decimal

import pytest

from campaigns.optimize import Period, ProblemError, allocate, fast, reference
from campaigns.optimize.model import build_model
from tests.campaigns.optimize.builders import random_problem, relative

CASES = [
    ({}, 1), ({}, 2),
    ({"min_roas": 6.0}, 3), ({"min_roas": 6.0}, 4),
    ({"min_roas": 4.0, "objective": "revenue"}, 5),
    ({"min_roas": 5.5, "max_cpa": Decimal("0.90")}, 6),
    ({"min_roas": 5.0, "max_cpa": Decimal("1.10"), "objective": "revenue"}, 7),
    ({"max_cpa": Decimal("1.50"), "objective": "conversions"}, 8),
    ({"spend_all": True, "floors": True, "budget": 40_000}, 9),
    ({"spend_all": True, "floors": True, "budget": 40_000, "min_roas": 2.0, "reserve": 0.2}, 10),
]


@pytest.mark.parametrize(("options", "seed"), CASES)
def test_fast_matches_the_reference_objective(options, seed):
    # given a random problem down a 3-level hierarchy with mixed curves and node caps
    model = build_model(random_problem(seed, **options))

    # when both engines solve the same model
    quick = fast.solve(model)
    slow = reference.solve(model)

    # then the objectives agree to 1e-4 (relative) and the binding budget / floors carry the same prices
    assert relative(quick.objective, slow.objective) <= 1e-4
    assert abs(quick.duals.budget - slow.duals.budget) <= 1e-3 * max(1.0, abs(slow.duals.budget))
    for name, mu in slow.duals.efficiency.items():
        assert abs(quick.duals.efficiency[name] - mu) <= 1e-3 * max(1.0, abs(mu))


def test_allocations_agree_to_the_cent_level_total():
    # given a problem with a binding ROAS floor
    problem = random_problem(3, min_roas=6.0)

    # when both engines allocate it
    quick, slow = allocate(problem, engine="fast"), allocate(problem, engine="reference")

    # then the plans' margins agree and both hold every constraint after rounding
    assert relative(quick.totals.model_objective, slow.totals.model_objective) <= 1e-4
    assert quick.constraints_hold is True
    assert slow.constraints_hold is True


def test_flighting_dispatches_to_the_reference_engine():
    # given weekly budgets
    base = random_problem(11, n=8, min_roas=3.0)
    periods = (Period("w1", Decimal("20000")), Period("w2", Decimal("25000"), 1.4), Period("w3", Decimal("15000"), 0.7))
    problem = base.__class__(cells=base.cells, objective=base.objective,
                             constraints=base.constraints.__class__(**{**base.constraints.__dict__,
                                                                       "periods": periods}))

    # when it is allocated on "auto"
    plan = allocate(problem)

    # then the reference engine planned it per period, and each period and cell total adds up
    assert plan.engine == "reference"
    assert plan.periods == ("w1", "w2", "w3")
    assert all(sum(c.period_spend) == c.spend for c in plan.cells)
    assert {c.constraint: c.holds for c in plan.checks}["period_budgets"] is True
    assert plan.constraints_hold is True


def test_the_fast_engine_refuses_flighting_by_name():
    # given weekly budgets
    base = random_problem(12, n=4)
    problem = base.__class__(cells=base.cells, constraints=base.constraints.__class__(
        budget=Decimal("10000"), periods=(Period("w1", Decimal("6000")),)))

    # when the fast engine is asked for explicitly
    with pytest.raises(ProblemError) as error:
        allocate(problem, engine="fast")

    # then it says so, naming the engine
    assert error.value.field == "engine"
    assert error.value.message == "the fast engine cannot take flighting; use auto or reference"
