"""Bad input is a ProblemError naming the field (a 400 for the API), raised before any solving."""

import copy
from decimal import Decimal

import pytest

from campaigns.optimize import (
    Constraints,
    Curve,
    Problem,
    ProblemError,
    allocate,
    min_spend_for_target,
    problem_from_dict,
)
from tests.campaigns.optimize.builders import cell

GOOD = {
    "objective": "margin",
    "nodes": [{"id": "onsite", "parent": None}, {"id": "walmart", "parent": "onsite"}],
    "cells": [
        {"id": "a", "parent": "walmart", "curve": {"form": "exp", "vmax": 50000, "h": 10000}, "margin_rate": 0.4,
         "price": "4.99", "max_spend": "20000"},
        {"id": "b", "path": ["onsite", "amazon", "b"], "curve": {"form": "hill", "vmax": 40000, "h": 8000, "k": 2},
         "margin_rate": 0.3, "price": "4.99"},
    ],
    "constraints": {"budget": "25000", "min_roas": 3, "node_bounds": [{"node": "walmart", "max": "15000"}]},
}


def _with(change) -> dict:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


def test_a_good_document_parses_into_paths_and_decimals():
    # given the API's JSON
    # when it is parsed
    problem = problem_from_dict(GOOD)

    # then parents became paths, money became Decimal cents, and node ids resolve
    assert [c.path for c in problem.cells] == [("onsite", "walmart", "a"), ("onsite", "amazon", "b")]
    assert problem.cells[0].max_spend == Decimal("20000.00")
    assert problem.constraints.budget == Decimal("25000.00")
    assert problem.constraints.node_bounds[0].path == ("onsite", "walmart")


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda d: d["constraints"].update(budget="-5"), "constraints.budget", "must be a non-negative amount of money"),
    (lambda d: d["constraints"].update(budget="lots"), "constraints.budget", "must be a non-negative amount of money"),
    (lambda d: d.update(objective="happiness"), "objective",
     "unknown objective 'happiness'; use one of margin, revenue, conversions"),
    (lambda d: d["cells"][0].update(parent="kroger"), "cells[0].parent", "unknown parent node 'kroger'"),
    (lambda d: d["nodes"].append({"id": "x", "parent": "ghost"}), "nodes[2].parent", "unknown parent node 'ghost'"),
    (lambda d: d["nodes"].extend([{"id": "p", "parent": "q"}, {"id": "q", "parent": "p"}]), "nodes[2].parent",
     "the hierarchy has a cycle through 'p'"),
    (lambda d: d["cells"][0].update(min_spend="30000"), "cells[0].min_spend", "min 30000.00 is above max 20000.00"),
    (lambda d: d["constraints"]["node_bounds"][0].update(min="20000"), "constraints.node_bounds[0].min",
     "min 20000.00 is above max 15000.00"),
    (lambda d: d["cells"][1]["curve"].update(form="logistic"), "cells[1].curve.form",
     "unknown curve form 'logistic'; use exp or hill"),
    (lambda d: d["cells"][1]["curve"].update(h=0), "cells[1].curve.h", "must be above 0"),
    (lambda d: d["cells"][1]["curve"].update(vmax="many"), "cells[1].curve.vmax", "must be a number"),
    (lambda d: d["cells"][0].update(incrementality=0), "cells[0].incrementality", "must be above 0.0 and at most 1.0"),
    (lambda d: d["cells"][0].update(margin_rate=1.5), "cells[0].margin_rate", "must be between 0.0 and 1.0"),
    (lambda d: d["constraints"].update(roas_basis="halo"), "constraints.roas_basis",
     "unknown ROAS basis 'halo'; use incremental or attributed"),
    (lambda d: d["constraints"].update(node_bounds=[{"node": "target", "max": "1"}]),
     "constraints.node_bounds[0].path", "unknown node 'target'"),
    (lambda d: d["cells"].append({"id": "a", "path": ["onsite", "x"], "curve": {"form": "exp", "vmax": 1, "h": 1}}),
     "cells[2].id", "duplicate cell id 'a'"),
    (lambda d: d["cells"].append({"id": "c", "path": ["onsite", "walmart"], "curve": {"form": "exp", "vmax": 1,
                                                                                    "h": 1}}),
     "cells[2].path", "cell path onsite/walmart is also an inner node of another cell's path"),
    (lambda d: d.update(objective="conversions") or d["cells"][1].pop("price"), "cells[1].price",
     "a price is needed for the conversions objective"),
    (lambda d: d["constraints"].update(reserve_share=1.0), "constraints.reserve_share",
     "must be at least 0 and below 1"),
    (lambda d: d["constraints"].update(budget=None, spend_all=True), "constraints.spend_all",
     "spend_all needs a budget"),
    (lambda d: d.update(objective="revenue") or d["constraints"].update(budget=None, min_roas=None),
     "constraints.budget",
     "an objective of revenue needs a budget, a ROAS floor, a CPA cap or a max spend on every cell"),
])
def test_bad_documents_name_the_field(change, field, message):
    # given a document with one thing wrong
    data = _with(change)

    # when it is parsed
    with pytest.raises(ProblemError) as error:
        problem_from_dict(data)

    # then the error names the field and says what is wrong
    assert (error.value.field, error.value.message) == (field, message)
    assert error.value.as_error() == {"code": "invalid_problem", "message": message, "details": {"field": field}}


def test_the_python_api_validates_too():
    # given a Problem built in code with an unknown objective
    problem = Problem(cells=(cell("a", ("x", "a"), Curve("exp", 1.0, 1.0)),), objective="joy",
                      constraints=Constraints(budget=Decimal("10")))

    # when it is allocated
    with pytest.raises(ProblemError) as error:
        allocate(problem)

    # then the objective is named
    assert error.value.field == "objective"


def test_an_unknown_engine_and_a_double_target_are_named():
    # given a valid problem
    problem = problem_from_dict(GOOD)

    # when it is asked for an unknown engine, or for two targets at once
    with pytest.raises(ProblemError) as engine:
        allocate(problem, engine="gurobi")
    with pytest.raises(ProblemError) as target:
        min_spend_for_target(problem, target_sales=Decimal("1"), target_margin=Decimal("1"))

    # then each names its field
    assert (engine.value.field, engine.value.message) == (
        "engine", "unknown engine 'gurobi'; use auto, fast or reference")
    assert (target.value.field, target.value.message) == (
        "target", "give exactly one of target_sales and target_margin")
