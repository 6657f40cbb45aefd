"""Constraints that cannot all hold: which ones clash, in words, and the best that is achievable."""

import math
from decimal import Decimal

import pytest

from campaigns.optimize import Constraints, Curve, Infeasible, NodeBound, Period, Problem, allocate
from tests.campaigns.optimize.builders import cell, exp_split

A, B = (40_000.0, 10_000.0), (60_000.0, 20_000.0)


def _two_cells(**constraints) -> Problem:
    return Problem(cells=(cell("a", ("onsite", "a"), Curve("exp", *A)), cell("b", ("onsite", "b"), Curve("exp", *B))),
                   constraints=Constraints(**constraints))


def _best_roas_spending(budget: float) -> float:
    """By hand: spending exactly `budget`, sales peak where both marginals are equal (exp_split, margin 1)."""
    spends = exp_split([(*A, 1.0), (*B, 1.0)], budget)
    sales = A[0] * -math.expm1(-spends[0] / A[1]) + B[0] * -math.expm1(-spends[1] / B[1])
    return sales / budget


def test_a_roas_floor_above_the_best_achievable_names_the_best_and_its_spend():
    # given a budget that must be spent in full and a ROAS floor no split of it reaches
    problem = _two_cells(budget=Decimal("30000.00"), spend_all=True, min_roas=8.0)
    best = _best_roas_spending(30_000.0)

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then the message gives the best achievable ROAS and the spend at which it occurs
    assert error.value.message == (f"ROAS ≥ 8.00 (incremental) is infeasible; the best achievable is {best:.2f} at "
                                   f"$30,000.00 (spend_all: the whole allocatable budget must be spent).")
    assert error.value.conflicts == ["constraints.min_roas", "constraints.spend_all"]
    assert abs(error.value.best_achievable["roas"] - best) < 1e-3
    assert error.value.best_achievable["spend"] == Decimal("30000.00")


def test_a_roas_floor_just_under_the_best_achievable_is_met():
    # given the same budget and a floor a cent of ROAS under the best achievable
    floor = math.floor(_best_roas_spending(30_000.0) * 100) / 100 - 0.01
    problem = _two_cells(budget=Decimal("30000.00"), spend_all=True, min_roas=floor)

    # when it is allocated
    plan = allocate(problem)

    # then the floor holds after rounding, on the true curves
    assert plan.totals.spend == Decimal("30000.00")
    assert plan.totals.roas_incremental >= floor
    assert plan.constraints_hold is True


def test_a_roas_floor_forced_by_spend_floors_says_so():
    # given min spends that force $12,000 and a high ROAS floor
    problem = Problem(cells=(
        cell("a", ("onsite", "a"), Curve("exp", *A), min_spend=Decimal("6000")),
        cell("b", ("onsite", "b"), Curve("exp", *B), min_spend=Decimal("6000")),
    ), constraints=Constraints(budget=Decimal("50000.00"), min_roas=6.0))

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then the best ROAS is at the forced spend, and the min spends are named among the conflicts
    assert error.value.message.startswith("ROAS ≥ 6.00 (incremental) is infeasible; the best achievable is ")
    assert error.value.message.endswith(" at $12,000.00 (the spend floors force at least that much).")
    assert error.value.conflicts == ["constraints.min_roas", "cells.min_spend"]


def test_a_cpa_cap_below_the_best_achievable_names_the_best_cpa():
    # given a budget spent in full and a CPA cap no split reaches (price $5 per conversion)
    problem = _two_cells(budget=Decimal("30000.00"), spend_all=True, max_cpa=Decimal("1.00"))
    best_cpa = 5.0 / _best_roas_spending(30_000.0)

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then the message gives the best achievable CPA
    assert error.value.message == (f"CPA ≤ $1.00 is infeasible; the best achievable is ${best_cpa:,.2f} at "
                                   f"$30,000.00 (spend_all: the whole allocatable budget must be spent).")
    assert error.value.best_achievable["cpa"] == Decimal(f"{best_cpa:.2f}")


def test_a_min_spend_on_an_out_of_stock_cell_is_a_conflict():
    # given a cell that must get $500 but is out of stock
    problem = Problem(cells=(cell("a", ("onsite", "a"), Curve("exp", *A), min_spend=Decimal("500"),
                                  stockout_prob=0.9),), constraints=Constraints(budget=Decimal("1000")))

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then both constraints are named
    assert error.value.message == ("Cell a: its min spend of $500.00 conflicts with its out-of-stock max "
                                   "(stock-out probability 90%) of $0.00.")


def test_a_node_cap_below_its_cells_minimums_is_a_conflict():
    # given two cells needing $3,000 each under a network capped at $5,000
    problem = Problem(cells=(
        cell("a", ("onsite", "walmart", "a"), Curve("exp", *A), min_spend=Decimal("3000")),
        cell("b", ("onsite", "walmart", "b"), Curve("exp", *B), min_spend=Decimal("3000")),
    ), constraints=Constraints(budget=Decimal("50000"),
                               node_bounds=(NodeBound(("onsite", "walmart"), max=Decimal("5000")),)))

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then the cap and what the cells need are said
    assert error.value.message == ("The cap of $5,000.00 on onsite › walmart is below what its cells must get "
                                   "($6,000.00: their min spends, fixed spends and the floors below it).")
    assert error.value.conflicts == ["constraints.node_bounds[onsite/walmart]"]


def test_spending_all_of_a_budget_the_cells_cannot_take_is_a_conflict():
    # given $10,000 to spend in full on cells capped at $3,000 each
    problem = Problem(cells=(
        cell("a", ("onsite", "a"), Curve("exp", *A), max_spend=Decimal("3000")),
        cell("b", ("onsite", "b"), Curve("exp", *B), max_spend=Decimal("3000")),
    ), constraints=Constraints(budget=Decimal("10000"), spend_all=True))

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then the message says how much the cells can take
    assert error.value.message == ("spend_all needs the whole allocatable budget of $10,000.00 spent, but the cells "
                                   "can take at most $6,000.00 (max spends, stock-outs, inventory caps and node "
                                   "caps).")
    assert error.value.best_achievable == {"least_spend": Decimal("0.00"), "most_spend": Decimal("6000.00")}


def test_flighting_spend_bounds_that_cannot_hold_are_caught_before_solving():
    # given two weeks whose budgets add up to less than the cells' minimums
    problem = Problem(cells=(
        cell("a", ("onsite", "a"), Curve("exp", *A), min_spend=Decimal("3000")),
        cell("b", ("onsite", "b"), Curve("exp", *B), min_spend=Decimal("3000")),
    ), constraints=Constraints(budget=Decimal("50000"), periods=(Period("w1", Decimal("2000")),
                                                                 Period("w2", Decimal("2500")))))

    # when it is allocated
    with pytest.raises(Infeasible) as error:
        allocate(problem)

    # then the totals involved are said
    assert error.value.message == ("The spend bounds cannot all hold across the periods: the period budgets total "
                                   "$4,500.00, the allocatable budget is $50,000.00, the cells' own minimums add up "
                                   "to $6,000.00, and the node floors and caps apply to the totals.")
    assert error.value.conflicts == ["constraints.periods", "constraints.budget", "constraints.node_bounds"]
