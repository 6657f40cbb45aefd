"""POST /api/v1/optimize/allocate — the allocate_budget tool — and `manage.py allocate`."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.conftest import api_client_for, audit_rows, wait_for_job


def cell(cell_id: str, network: str, *, vmax: float, h: float, current: str = "1000") -> dict:
    return {"id": cell_id, "path": ["onsite", network, "search", cell_id], "curve": {"form": "exp", "vmax": vmax,
            "h": h}, "margin_rate": 0.4, "price": "5.00", "incrementality": 0.6, "current_spend": current}


PROBLEM = {
    "objective": "margin",
    "cells": [cell("a", "amazon", vmax=60000, h=8000), cell("b", "amazon", vmax=30000, h=4000),
              cell("c", "walmart", vmax=40000, h=10000)],
    "constraints": {"budget": "20000", "min_roas": 1.5, "roas_basis": "incremental"},
}


def test_a_small_problem_is_solved_at_once_within_its_constraints(acme):
    # given an analyst
    client = api_client_for(acme, username="acme-analyst")

    # when
    response = client.post("/api/v1/optimize/allocate", PROBLEM, format="json")

    # then the plan comes back now, inside the budget and the ROAS floor, and is on the record
    assert response.status_code == 200, response.content
    plan = response.json()
    spends = {item["id"]: Decimal(item["spend"]) for item in plan["cells"]}
    assert set(spends) == {"a", "b", "c"}
    assert sum(spends.values()) <= Decimal("20000")
    totals = plan["totals"]
    assert Decimal(totals["incremental_revenue"]) >= Decimal("1.5") * Decimal(totals["spend"])
    assert audit_rows(acme, action="optimize.allocate")


def test_bad_input_names_the_field(acme):
    client = api_client_for(acme, username="acme-analyst")
    bad = {**PROBLEM, "constraints": {"budget": "-5"}}
    response = client.post("/api/v1/optimize/allocate", bad, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_problem"
    assert error["details"]["field"].startswith("constraints.budget")


def test_infeasible_constraints_are_422_with_the_best_achievable(acme):
    client = api_client_for(acme, username="acme-analyst")
    # spending the whole budget at ROAS ≥ 40 is impossible (no curve starts steeper than 7.5)
    greedy = {**PROBLEM, "constraints": {"budget": "20000", "spend_all": True, "min_roas": 40}}
    response = client.post("/api/v1/optimize/allocate", greedy, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "infeasible"
    assert error["message"].startswith("ROAS ≥ 40")
    assert error["details"]["best_achievable"]


def test_viewers_cannot_allocate(acme):
    response = api_client_for(acme, username="acme-viewer").post("/api/v1/optimize/allocate", PROBLEM,
                                                                 format="json")
    assert response.status_code == 403


@pytest.mark.worker
def test_a_flighted_problem_runs_as_a_job_on_the_worker(live_db, celery_workers, acme):
    # given weekly budgets (flighting), which the fast engine does not take
    flighted = {**PROBLEM, "constraints": {"budget": "20000", "periods": [
        {"id": "w1", "budget": "12000", "weight": 1.0}, {"id": "w2", "budget": "12000", "weight": 0.8}]}}
    client = api_client_for(acme, username="acme-analyst")

    # when
    response = client.post("/api/v1/optimize/allocate", flighted, format="json")

    # then a job on the default worker returns the plan
    assert response.status_code == 202, response.content
    job = wait_for_job(client, response.json()["job"])
    assert job["status"] == "succeeded", job
    assert Decimal(job["result"]["totals"]["spend"]) <= Decimal("20000")


def test_the_command_prints_the_same_plan(acme, tmp_path):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(PROBLEM))
    out = io.StringIO()
    call_command("allocate", "--tenant", "acme", "--input", str(path), stdout=out)
    plan = json.loads(out.getvalue())
    assert {item["id"] for item in plan["cells"]} == {"a", "b", "c"}
    assert sum(Decimal(item["spend"]) for item in plan["cells"]) <= Decimal("20000")
