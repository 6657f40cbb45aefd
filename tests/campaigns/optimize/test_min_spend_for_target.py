"""The inverse problem: the least spend whose best plan reaches a sales or margin target."""

from dataclasses import replace
from decimal import Decimal

import pytest

from campaigns.optimize import Constraints, Curve, Infeasible, NodeBound, Problem, allocate, min_spend_for_target
from tests.campaigns.optimize.builders import cell


def _problem() -> Problem:
    return Problem(cells=(
        cell("a", ("onsite", "walmart", "a"), Curve("exp", 60_000.0, 12_000.0), margin_rate=0.5),
        cell("b", ("onsite", "walmart", "b"), Curve("hill", 45_000.0, 7_000.0, 1.0), margin_rate=0.45),
        cell("c", ("offsite", "criteo", "c"), Curve("exp", 30_000.0, 9_000.0), margin_rate=0.6),
    ), constraints=Constraints(budget=Decimal("100000"), min_roas=2.0,
                               node_bounds=(NodeBound(("onsite", "walmart"), max=Decimal("20000")),)))


def _with_budget(problem: Problem, budget: Decimal) -> Problem:
    return replace(problem, constraints=replace(problem.constraints, budget=budget))


def test_the_least_spend_reaching_a_sales_target_is_minimal():
    # given a sales target well inside what the budget can buy
    problem = _problem()
    target = Decimal("60000.00")

    # when the least spend is asked for
    plan = min_spend_for_target(problem, target_sales=target)

    # then its plan reaches the target under the same constraints, and a dollar less of budget cannot
    assert plan.totals.incremental_revenue >= target
    assert plan.constraints_hold is True
    assert plan.target["min_spend"] == plan.totals.spend
    short = allocate(replace(_with_budget(problem, plan.totals.spend - 1), objective="revenue"), costs=False)
    assert short.totals.incremental_revenue < target


def test_the_least_spend_reaching_a_margin_target_is_minimal():
    # given a margin target
    problem = _problem()
    target = Decimal("8000.00")

    # when the least spend is asked for
    plan = min_spend_for_target(problem, target_margin=target)

    # then the plan reaches it and a dollar less of budget misses it
    assert plan.totals.incremental_margin >= target
    short = allocate(_with_budget(problem, plan.totals.spend - 1), costs=False)
    assert short.totals.incremental_margin < target


def test_a_target_out_of_reach_says_the_best_achievable():
    # given a sales target beyond what the budget and caps allow
    problem = _problem()

    # when the least spend is asked for
    with pytest.raises(Infeasible) as error:
        min_spend_for_target(problem, target_sales=Decimal("500000"))

    # then the best achievable sales and their spend are given
    best = allocate(replace(problem, objective="revenue"), costs=False)
    assert error.value.message == (f"The sales target of $500,000.00 is out of reach; the best achievable is "
                                   f"${best.totals.incremental_revenue:,.2f} at ${best.totals.spend:,.2f}.")
    assert error.value.best_achievable == {"sales": best.totals.incremental_revenue, "spend": best.totals.spend}
