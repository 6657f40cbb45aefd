"""Plans built from the demo's exports, scored on the generator's true curves against the oracle (the optimum under
the true curves, same constraints) and the naive rule "split the budget by last period's ROAS"."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from django_tenants.utils import schema_context

from campaigns.demo.scoring import measured_incrementality, roas_split, true_margin, truth_curves
from campaigns.optimize import allocate, problem_from_dict
from campaigns.optimize.curves import Curve
from campaigns.plans.build import plan_inputs, plan_problem
from campaigns.plans.history import cell_days
from campaigns.plans.request import plan_request_from_dict
from tenants.management.commands.seed_demo import DEMO_FILES
from tests.campaigns.plans.conftest import demo_folder, load_demo

FLIGHT_DAYS = 28
ARTIFACT = Path(__file__).resolve().parents[3] / "test-artifacts" / "plan_accuracy.json"


def _score(request_data: dict, inputs, curves: dict[str, Curve], recent: dict[str, tuple[float, float]]) -> dict:
    request = plan_request_from_dict(request_data)
    problem = plan_problem(request, inputs)
    plan = allocate(problem_from_dict(problem), engine="fast")
    assert plan.constraints_hold, [c for c in plan.checks if not c.holds]
    # The oracle solves the same problem on the true curves (scaled to the flight like the plan's).
    oracle_problem = json.loads(json.dumps(problem))
    for cell in oracle_problem["cells"]:
        true = curves[cell["id"]]
        cell["curve"] = {"form": "hill", "vmax": true.vmax * FLIGHT_DAYS, "h": true.h * FLIGHT_DAYS, "k": true.k}
        cell.pop("samples", None)
    oracle = allocate(problem_from_dict(oracle_problem), engine="fast")
    # The naive rule obeys the same out-of-stock exclusions (a planner would not buy ads for an empty shelf).
    blocked = {c.id for c in plan.cells if c.at == "out of stock"}
    spent = float(plan.totals.spend)
    naive = roas_split(spent, {cell: value for cell, value in recent.items() if cell not in blocked})
    rates = {c["id"]: c["margin_rate"] for c in inputs.cells}
    current = {c["id"]: Decimal(c["current_spend"]) for c in inputs.cells}
    spends = {"plan": {c.id: c.spend for c in plan.cells}, "oracle": {c.id: c.spend for c in oracle.cells},
              "naive": naive, "current": current}
    net = {name: true_margin(spend, curves, rates, FLIGHT_DAYS) for name, spend in spends.items()}
    total = {name: float(sum(Decimal(str(v)) for v in spend.values())) for name, spend in spends.items()}
    # Margin before media cost: with the whole budget spent by every plan, it ranks them as net margin does.
    gross = {name: net[name] + total[name] for name in spends}
    return {"net": net, "gross": gross, "spend": total}


def test_plans_from_the_demo_exports_reach_the_oracle_and_beat_the_roas_split(acme, tmp_path_factory):
    # given five months of the demo's exports for 16 SKUs on four networks, and their true curves
    truth = load_demo(demo_folder(tmp_path_factory, days=150, skus=16), DEMO_FILES)
    with schema_context("acme"):
        end = dt.date.fromisoformat(truth["end"])
        last_month = cell_days(date_from=end - dt.timedelta(days=FLIGHT_DAYS - 1), date_to=end)
        recent: dict[str, tuple[float, float]] = {}
        for cell, spend, sales in last_month.select("cell", "spend", "sales").iter_rows():
            before = recent.get(cell, (0.0, 0.0))
            recent[cell] = (before[0] + spend, before[1] + sales)
        budget = str(round(sum(spend for spend, _ in recent.values()), 2))
        scope = {"days": FLIGHT_DAYS}

        # when plans are built with the default incrementality factors, and with what perfect lift tests would read
        inputs = plan_inputs(plan_request_from_dict({"budget": budget, "scope": scope}))
        curves = truth_curves(truth, inputs.cells)
        assert len(curves) == len(inputs.cells) > 100  # every cell is matched to its truth
        history = cell_days(date_from=inputs.history_from, date_to=inputs.history_to)
        measured = measured_incrementality(curves, history)
        measured_inputs = plan_inputs(plan_request_from_dict(
            {"budget": budget, "scope": scope, "incrementality": measured}))
        spend_all = {"objective": "margin", "budget": budget, "scope": scope, "constraints": {"spend_all": True}}
        results = {
            "default_factors": _score(spend_all, inputs, curves, recent),
            "measured_factors": _score({**spend_all, "incrementality": measured}, measured_inputs, curves, recent),
            "default_factors_free_spend": _score({"objective": "margin", "budget": budget, "scope": scope},
                                                 inputs, curves, recent),
            "measured_factors_free_spend": _score({"objective": "margin", "budget": budget, "scope": scope,
                                                   "incrementality": measured}, measured_inputs, curves, recent),
        }
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps({name: {key: {k: round(v, 2) for k, v in values.items()}
                                           for key, values in result.items()} for name, result in results.items()},
                                   indent=2))

    # then allocating the current budget reaches ≥ 95% of the oracle's incremental margin and beats the ROAS split
    for name in ("default_factors", "measured_factors"):
        result = results[name]
        assert result["gross"]["plan"] >= 0.95 * result["gross"]["oracle"], (name, result)
        assert result["net"]["plan"] > result["net"]["naive"], (name, result)
        assert abs(result["spend"]["plan"] - result["spend"]["oracle"]) < 1.0
    # and when spend is free to fall, the plan earns a positive margin where the current spend and the ROAS split
    # lose money (the demo's ads mostly do not pay for themselves at today's levels)
    for name in ("default_factors_free_spend", "measured_factors_free_spend"):
        free = results[name]
        assert free["net"]["plan"] > 0, (name, free)
        assert free["net"]["plan"] > free["net"]["current"], (name, free)
        assert free["net"]["plan"] > free["net"]["naive"], (name, free)
    # and with what lift tests measure, the plan's net margin is within a few points of the oracle's (94.9% when
    # this was written; the rest is curve shape at the margin of a few break-even cells)
    free = results["measured_factors_free_spend"]
    assert free["net"]["plan"] >= 0.93 * free["net"]["oracle"], free
