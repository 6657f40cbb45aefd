"""What a plan says about itself: binding constraints with their shadow prices and costs in words, attributed
vs incremental ROAS, and the change against the current allocation."""

from dataclasses import replace
from decimal import Decimal

from campaigns.optimize import Constraints, Curve, Problem, allocate
from campaigns.optimize.infeasible import money_words
from tests.campaigns.optimize.builders import cell


def _problem(**constraints) -> Problem:
    return Problem(cells=(
        cell("a", ("onsite", "walmart", "a"), Curve("exp", 90_000.0, 20_000.0), margin_rate=0.6, incrementality=0.5,
             current_spend=Decimal("12000")),
        cell("b", ("onsite", "amazon", "b"), Curve("exp", 40_000.0, 4_000.0), margin_rate=0.3, incrementality=0.8,
             current_spend=Decimal("1000")),
        cell("c", ("offsite", "criteo", "c"), Curve("hill", 30_000.0, 6_000.0, 1.0), margin_rate=0.5,
             incrementality=0.6),
    ), constraints=Constraints(budget=Decimal("20000"), **constraints))


def test_a_binding_roas_floor_is_priced_by_solving_again_without_it():
    # given a ROAS floor that binds
    problem = _problem(min_roas=4.0)

    # when it is allocated, and again without the floor
    plan = allocate(problem)
    free = allocate(replace(problem, constraints=replace(problem.constraints, min_roas=None)))

    # then the floor's cost is the margin the unconstrained plan gains, said in words with its dual
    floor = next(b for b in plan.binding if b.constraint == "min_roas")
    assert floor.method == "re-solve"
    assert abs(floor.cost - Decimal(f"{free.totals.model_objective - plan.totals.model_objective:.2f}")) <= 1
    per_hundredth = money_words(floor.shadow_price * float(plan.totals.spend) * 0.01)
    assert floor.message == (f"The ROAS ≥ 4.00 (incremental) floor binds and costs {money_words(floor.cost)} of "
                             f"margin (re-solved without it); each 0.01 off the floor would add about "
                             f"{per_hundredth} of margin (dual).")
    assert plan.totals.roas_incremental >= 4.0


def test_a_binding_budget_reports_its_marginal_value_and_its_cost():
    # given a budget the cells would overspend
    problem = _problem()

    # when it is allocated
    plan = allocate(problem)

    # then the budget binds with a positive shadow price and a re-solved cost
    budget = next(b for b in plan.binding if b.constraint == "budget")
    assert budget.shadow_price > 0
    assert budget.method == "re-solve"
    assert budget.message.startswith("The budget binds ($20,000.00 allocatable): each extra $1,000 would add about ")
    assert budget.message.endswith(f"; without a budget the plan would gain {money_words(budget.cost)} of margin "
                                   f"(re-solved without it).")


def test_an_attributed_roas_floor_counts_sales_over_incrementality():
    # given an attributed ROAS floor of 7 (the unconstrained plan reaches 6.7)
    problem = _problem(min_roas=7.0, roas_basis="attributed")

    # when it is allocated
    plan = allocate(problem)

    # then attributed ROAS (incremental sales / incrementality per cell) meets it, while incremental ROAS is lower
    check = next(c for c in plan.checks if c.constraint == "min_roas")
    assert check.holds is True
    assert "(attributed, on the true curves)" in check.detail
    assert plan.totals.roas_attributed >= 7.0
    assert next(b for b in plan.binding if b.constraint == "min_roas").subject == "ROAS ≥ 7.00 (attributed)"
    assert plan.totals.roas_incremental < plan.totals.roas_attributed


def test_changes_against_the_current_allocation_roll_up_the_hierarchy():
    # given current spends on two cells
    problem = _problem()

    # when it is allocated
    plan = allocate(problem)

    # then every leaf and node reports spend − current, and nodes add up their leaves
    assert [c.change for c in plan.cells] == [c.spend - c.current_spend for c in plan.cells]
    onsite = plan.node("onsite")
    assert onsite.current_spend == Decimal("13000.00")
    assert onsite.change == plan.cell("a").change + plan.cell("b").change
    assert onsite.incremental_sales == plan.cell("a").incremental_sales + plan.cell("b").incremental_sales
    assert plan.totals.current_spend == Decimal("13000.00")
    assert [n.path for n in plan.nodes] == [("offsite",), ("onsite",), ("offsite", "criteo"), ("onsite", "amazon"),
                                           ("onsite", "walmart")]
