"""Plans whose optimum is known by hand: symmetry, zero caps, equal marginal values of exponential curves."""

from decimal import Decimal

from campaigns.optimize import Cell, Constraints, Curve, NodeBound, Problem, allocate
from tests.campaigns.optimize.builders import cell, exp_split


def test_two_identical_cells_split_the_budget_evenly():
    # given two identical exponential cells and a budget they would both overspend
    curve = Curve("exp", 100_000.0, 20_000.0)
    problem = Problem(cells=(cell("a", ("onsite", "a"), curve), cell("b", ("onsite", "b"), curve)),
                      constraints=Constraints(budget=Decimal("10000.00")))

    # when it is allocated
    plan = allocate(problem)

    # then each gets half, to the cent
    assert [c.spend for c in plan.cells] == [Decimal("5000.00"), Decimal("5000.00")]
    assert plan.totals.spend == Decimal("10000.00")
    assert plan.engine == "fast"


def test_two_identical_cells_split_evenly_on_the_reference_engine_too():
    # given the same two cells
    curve = Curve("hill", 100_000.0, 20_000.0, 1.0)
    problem = Problem(cells=(cell("a", ("onsite", "a"), curve), cell("b", ("onsite", "b"), curve)),
                      constraints=Constraints(budget=Decimal("10000.00")))

    # when the reference engine allocates it
    plan = allocate(problem, engine="reference")

    # then each gets half
    assert [c.spend for c in plan.cells] == [Decimal("5000.00"), Decimal("5000.00")]
    assert plan.engine == "reference"


def test_a_cell_with_a_zero_max_gets_nothing():
    # given a strong cell capped at zero and a weak one
    problem = Problem(cells=(
        cell("strong", ("onsite", "strong"), Curve("exp", 500_000.0, 10_000.0), max_spend=Decimal("0")),
        cell("weak", ("onsite", "weak"), Curve("exp", 40_000.0, 10_000.0)),
    ), constraints=Constraints(budget=Decimal("5000.00")))

    # when it is allocated
    plan = allocate(problem)

    # then the capped cell gets zero and sits at its max; the weak one stops where 0.4·f'(s) = 1,
    # s = 10,000·ln(1.6) = 4,700.04, short of the budget
    assert plan.cell("strong").spend == Decimal("0.00")
    assert plan.cell("strong").at == "max"
    assert plan.cell("weak").spend == Decimal("4700.04")


def test_exponential_cells_meet_at_equal_marginal_margin():
    # given three exponential cells with different curves and margins, and a binding budget
    spec = [(90_000.0, 12_000.0, 0.5), (60_000.0, 8_000.0, 0.4), (150_000.0, 30_000.0, 0.3)]
    cells = tuple(cell(f"c{i}", ("onsite", f"c{i}"), Curve("exp", v, h), margin_rate=m)
                  for i, (v, h, m) in enumerate(spec))
    problem = Problem(cells=cells, constraints=Constraints(budget=Decimal("20000.00")))

    # when it is allocated
    plan = allocate(problem)

    # then each spend is the hand solution of m·vmax/h·exp(−s/h) = λ with Σ s = budget, to the cent
    expected = exp_split(spec, 20_000.0)
    gaps = [abs(c.spend - Decimal(f"{e:.2f}")) for c, e in zip(plan.cells, expected, strict=True)]
    assert [gap <= Decimal("0.01") for gap in gaps] == [True, True, True]
    assert plan.totals.spend == Decimal("20000.00")


def test_out_of_stock_cells_and_inventory_caps_are_respected():
    # given a stocked-out cell, a cell capped by inventory, and a free one
    curve = Curve("exp", 80_000.0, 10_000.0)
    problem = Problem(cells=(
        cell("gone", ("onsite", "gone"), curve, stockout_prob=0.8),
        cell("thin", ("onsite", "thin"), curve, inventory_cap=Decimal("1234.56")),
        cell("free", ("onsite", "free"), curve),
    ), constraints=Constraints(budget=Decimal("12000.00"), stockout_threshold=0.5))

    # when it is allocated
    plan = allocate(problem)

    # then the stocked-out cell gets nothing and the thin one stops at its inventory
    assert plan.cell("gone").spend == Decimal("0.00")
    assert plan.cell("gone").at == "out of stock"
    assert plan.cell("thin").spend == Decimal("1234.56")
    assert plan.cell("free").spend == Decimal("10765.44")


def test_spend_all_spends_exactly_the_budget_less_the_reserve():
    # given a budget with a 10% experiment reserve, spent in full
    cells = tuple(cell(f"c{i}", ("onsite", f"c{i}"), Curve("exp", 30_000.0 * (i + 1), 9_000.0)) for i in range(3))
    problem = Problem(cells=cells, constraints=Constraints(budget=Decimal("100000.00"), spend_all=True,
                                                           reserve_share=0.1))

    # when it is allocated
    plan = allocate(problem)

    # then exactly 90% is allocated and the reserve stays out
    assert plan.totals.spend == Decimal("90000.00")
    assert plan.totals.allocatable == Decimal("90000.00")
    assert plan.totals.reserve == Decimal("10000.00")
    assert {c.constraint: c.holds for c in plan.checks}["reserve"] is True


def test_fixed_nodes_keep_their_current_spend_and_the_rest_is_reallocated():
    # given a network held fixed and another free one
    curve = Curve("exp", 80_000.0, 10_000.0)
    problem = Problem(cells=(
        cell("w1", ("onsite", "walmart", "w1"), curve, current_spend=Decimal("700.00")),
        cell("w2", ("onsite", "walmart", "w2"), curve, current_spend=Decimal("300.50")),
        cell("a1", ("onsite", "amazon", "a1"), curve, current_spend=Decimal("50.00")),
    ), constraints=Constraints(budget=Decimal("5000.00"), fixed_nodes=(("onsite", "walmart"),)))

    # when it is allocated
    plan = allocate(problem)

    # then the fixed cells keep their spend, the free one takes the rest, and the change is reported
    assert [c.spend for c in plan.cells] == [Decimal("700.00"), Decimal("300.50"), Decimal("3999.50")]
    assert [c.at for c in plan.cells] == ["fixed", "fixed", ""]
    assert plan.cell("a1").change == Decimal("3949.50")
    assert plan.node("onsite", "walmart").spend == Decimal("1000.50")
    assert plan.node("onsite", "walmart").change == Decimal("0.00")


def test_rounding_to_cents_uses_largest_remainders_and_never_passes_the_budget():
    # given three identical cells sharing $100.00
    curve = Curve("exp", 90_000.0, 10_000.0)
    problem = Problem(cells=tuple(Cell(id=f"c{i}", path=("x", f"c{i}"), curve=curve, margin_rate=0.5)
                                  for i in range(3)), constraints=Constraints(budget=Decimal("100.00")))

    # when it is allocated
    plan = allocate(problem)

    # then the odd cent goes to one cell and the total is exactly the budget
    assert sorted(c.spend for c in plan.cells) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert plan.totals.spend == Decimal("100.00")


def test_node_caps_bind_and_roll_ups_sum_the_leaves():
    # given a strong network capped below what it would take
    strong, weak = Curve("exp", 200_000.0, 10_000.0), Curve("exp", 50_000.0, 10_000.0)
    problem = Problem(cells=(
        cell("s1", ("onsite", "walmart", "s1"), strong), cell("s2", ("onsite", "walmart", "s2"), strong),
        cell("w1", ("offsite", "criteo", "w1"), weak),
    ), constraints=Constraints(budget=Decimal("30000.00"),
                               node_bounds=(NodeBound(("onsite", "walmart"), max=Decimal("12000.00")),)))

    # when it is allocated
    plan = allocate(problem)

    # then the cap holds exactly, binds with a positive shadow price, and every node sums its leaves
    assert plan.node("onsite", "walmart").spend == Decimal("12000.00")
    assert plan.node("onsite").spend == plan.cell("s1").spend + plan.cell("s2").spend
    cap = next(b for b in plan.binding if b.constraint == "node_max")
    assert cap.subject == "onsite › walmart"
    assert cap.shadow_price > 0
    assert cap.method == "re-solve"
    assert cap.message.startswith("The $12,000.00 cap on onsite › walmart binds: each $1,000 extra would add about $")
