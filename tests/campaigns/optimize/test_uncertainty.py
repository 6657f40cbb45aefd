"""Posterior draws: credible intervals of a plan, and Thompson sampling under the same constraints."""

from decimal import Decimal

import numpy as np
import pytest

from campaigns.optimize import Constraints, Curve, NodeBound, Problem, ProblemError, allocate, thompson_allocation
from tests.campaigns.optimize.builders import cell


def _problem_with_samples(draws: int = 200) -> Problem:
    rng = np.random.default_rng(5)
    cells = []
    for i, (vmax, h) in enumerate([(60_000.0, 12_000.0), (45_000.0, 7_000.0), (80_000.0, 25_000.0)]):
        samples = tuple(Curve("exp", vmax * float(f), h * float(g))
                        for f, g in zip(rng.lognormal(0, 0.15, draws), rng.lognormal(0, 0.1, draws), strict=True))
        cells.append(cell(f"c{i}", ("onsite", f"net{i % 2}", f"c{i}"), Curve("exp", vmax, h), samples=samples))
    return Problem(cells=tuple(cells), constraints=Constraints(
        budget=Decimal("30000"), min_roas=2.0, node_bounds=(NodeBound(("onsite", "net0"), max=Decimal("18000")),)))


def test_credible_intervals_contain_the_point_estimate():
    # given cells carrying 200 posterior draws around their curves
    problem = _problem_with_samples()

    # when the plan is made
    plan = allocate(problem)

    # then the 5%–95% intervals of its revenue, margin and ROAS contain the point estimates
    revenue, margin = plan.intervals["incremental_revenue"], plan.intervals["incremental_margin"]
    roas = plan.intervals["roas_incremental"]
    assert revenue.low < plan.totals.incremental_revenue < revenue.high
    assert margin.low < plan.totals.incremental_margin < margin.high
    assert roas.low < plan.totals.roas_incremental < roas.high
    assert isinstance(revenue.low, Decimal)


def test_plans_without_samples_have_no_intervals():
    # given the same cells without draws
    problem = _problem_with_samples()
    bare = Problem(cells=tuple(c.__class__(**{**c.__dict__, "samples": ()}) for c in problem.cells),
                   constraints=problem.constraints)

    # when the plan is made
    plan = allocate(bare)

    # then there is nothing to report
    assert plan.intervals == {}


def test_thompson_allocations_differ_across_seeds_and_keep_every_constraint():
    # given cells with posterior draws
    problem = _problem_with_samples()

    # when Thompson sampling picks a draw per cell, with three seeds
    plans = [thompson_allocation(problem, rng=seed) for seed in (1, 2, 3)]

    # then the plans differ, and each holds every constraint on the drawn curves
    assert len({tuple(c.spend for c in plan.cells) for plan in plans}) == 3
    assert [plan.constraints_hold for plan in plans] == [True, True, True]
    assert all(plan.node("onsite", "net0").spend <= Decimal("18000") for plan in plans)
    assert [sorted(plan.thompson_draws) for plan in plans] == [["c0", "c1", "c2"]] * 3


def test_thompson_with_the_same_seed_is_reproducible():
    # given one problem and one seed
    problem = _problem_with_samples()

    # when it is sampled twice with that seed
    first, second = thompson_allocation(problem, rng=7), thompson_allocation(problem, rng=7)

    # then both picks and plans are the same
    assert first.thompson_draws == second.thompson_draws
    assert [c.spend for c in first.cells] == [c.spend for c in second.cells]


def test_thompson_draws_for_an_unknown_cell_are_refused():
    # given draws keyed by a cell id the problem does not have
    problem = _problem_with_samples(draws=3)

    # when Thompson sampling is asked to use them
    with pytest.raises(ProblemError) as error:
        thompson_allocation(problem, draws={"nope": (Curve("exp", 1.0, 1.0),)}, rng=1)

    # then the field is named
    assert (error.value.field, error.value.message) == ("draws", "no cell has id 'nope'")
