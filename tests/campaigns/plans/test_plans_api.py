"""POST/GET /api/v1/plans: validation (400 naming the field), the build job (in-process and on the real worker),
failures stored on the plan (no data, infeasible with the best achievable, unknown nodes), and comparison."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from campaigns.plans.build import PlanBuildError, plan_build
from campaigns.plans.models import IncrementalityFactor, Plan, PlanStatus, ResponseCurve
from campaigns.tasks import build_plan
from tenants.jobs.models import Job
from tenants.permissions import VIEWER_CANNOT_WRITE
from tests.conftest import api_client_for, audit_rows, wait_for_job

SCOPE = {"days": 14}


def new_plan(data: dict) -> Plan:
    with schema_context("acme"):
        return Plan.objects.create(name="test", created_by="user:acme-analyst", request=data)


def built(data: dict) -> Plan:
    plan = new_plan(data)
    with schema_context("acme"):
        plan_build(plan)
        plan.refresh_from_db()
    return plan


@pytest.mark.parametrize(("body", "field"), [
    ({}, "budget"),
    ({"budget": "-5"}, "budget"),
    ({"budget": "abc"}, "budget"),
    ({"budget": "100", "objective": "clicks"}, "objective"),
    ({"budget": "100", "constraints": {"min_roas": "high"}}, "constraints.min_roas"),
    ({"budget": "100", "constraints": {"reserve_share": 1.5}}, "constraints.reserve_share"),
    ({"budget": "100", "constraints": {"max_roas": 3}}, "constraints.max_roas"),
    ({"budget": "100", "constraints": {"roas_basis": "blended"}}, "constraints.roas_basis"),
    ({"budget": "100", "constraints": {"node_bounds": [{"network": "walmart"}]}}, "constraints.node_bounds[0]"),
    ({"budget": "100", "constraints": {"node_bounds": [{"network": "walmart", "min": "9", "max": "1"}]}},
     "constraints.node_bounds[0]"),
    ({"budget": "100", "constraints": {"node_bounds": [{"network": "walmart", "placement": "sky", "max": "1"}]}},
     "constraints.node_bounds[0].placement"),
    ({"budget": "100", "scope": {"days": 0}}, "scope.days"),
    ({"budget": "100", "scope": {"flight_start": "2026-12-10", "flight_end": "2026-12-01"}}, "scope.flight_end"),
    ({"budget": "100", "scope": {"flight_end": "2026-12-10"}}, "scope.flight_end"),
    ({"budget": "100", "scope": {"history_from": "2026-13-01"}}, "scope.history_from"),
    ({"budget": "100", "scope": {"networks": "walmart"}}, "scope.networks"),
    ({"budget": "100", "incrementality": {"walmart": 1.7}}, "incrementality"),
    ({"budget": "100", "explore": "yes"}, "explore"),
])
def test_bad_plan_requests_are_400_naming_the_field_and_create_nothing(acme, body, field):
    client = api_client_for(acme, username="acme-analyst")

    response = client.post("/api/v1/plans", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_plan"
    assert response.json()["error"]["details"] == {"field": field}
    with schema_context("acme"):
        assert not Plan.objects.exists()
        assert not Job.objects.filter(kind="plan").exists()


def test_viewers_cannot_create_plans(acme):
    response = api_client_for(acme, username="acme-viewer").post("/api/v1/plans", {"budget": "10"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == VIEWER_CANNOT_WRITE


def test_a_plan_request_is_stored_queued_and_audited(acme):
    client = api_client_for(acme, username="acme-analyst")

    response = client.post("/api/v1/plans", {"name": "Q1", "budget": "1000", "scope": SCOPE}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == f"/api/v1/plans/{body['plan']}"
    with schema_context("acme"):
        plan = Plan.objects.get(pk=body["plan"])
        assert (plan.name, plan.status, plan.budget, str(plan.job_id)) == ("Q1", "queued", Decimal("1000.00"),
                                                                         body["job"])
        assert Job.objects.get(pk=body["job"]).params == {"plan": plan.pk}
    [row] = audit_rows(acme, action="plan.create")
    assert row.object_id == str(plan.pk) and row.details["budget"] == "1000.00"
    listed = client.get("/api/v1/plans").json()
    assert [p["id"] for p in listed["results"]] == [plan.pk]
    assert listed["results"][0]["status"] == "queued"


def test_the_build_job_plans_from_rmis_with_every_output(acme, walmart_history):
    # given six weeks of Walmart history, and a plan request through the API
    client = api_client_for(acme, username="acme-analyst")
    body = client.post("/api/v1/plans", {"budget": "3000", "scope": SCOPE,
                                         "constraints": {"spend_all": True, "reserve_share": 0.1}},
                       format="json").json()

    # when the worker's job function runs it
    with schema_context("acme"):
        job = Job.objects.get(pk=body["job"])
        job.status = "running"
        job.save()
        result = build_plan.job_function(job)

    # then the plan is ready, with an allocation that spends the budget less the reserve, to the cent
    detail = client.get(f"/api/v1/plans/{body['plan']}").json()
    assert result["plan"] == body["plan"] and detail["status"] == "ready"
    totals = detail["allocation"]["totals"]
    assert Decimal(totals["reserve"]) == Decimal("300.00")
    assert Decimal(totals["spend"]) == Decimal("2700.00") == Decimal(detail["expected_spend"])
    assert sum(Decimal(c["spend"]) for c in detail["allocation"]["cells"]) == Decimal("2700.00")
    assert all(check["holds"] for check in detail["allocation"]["checks"])
    # cells are network × placement × campaign × product, each with its fitted curve and where its factor came from
    assert {tuple(c["path"][:2]) for c in detail["cells"]} == {("onsite", "walmart")}
    assert all(len(c["path"]) == 5 and c["show"]["n_points"] > 0 for c in detail["cells"])
    assert {c["show"]["incrementality_source"] for c in detail["cells"]} == {"default for the placement"}
    assert all(len(c["samples"]) == 100 for c in detail["cells"])
    # credible intervals, a monitoring plan whose pacing adds up to the spend, and a rationale from the numbers
    low, high = (Decimal(detail["allocation"]["intervals"]["incremental_margin"][k]) for k in ("low", "high"))
    assert low <= Decimal(totals["incremental_margin"]) <= high
    pacing = detail["monitoring"]["pacing"]["walmart"]
    assert len(pacing["daily"]) == 14
    assert abs(sum(Decimal(d["spend"]) for d in pacing["daily"]) - Decimal("2700.00")) <= Decimal("0.05")
    assert any(g["metric"] == "stockout" for g in detail["monitoring"]["guardrails"])
    # with each day's expected incremental sales at that pace (near the plan's total: pacing is almost even)
    # and the spend trend it replaces (an ETS forecast of the network's history)
    paced_sales = sum(Decimal(d["expected_incremental_sales"]) for d in pacing["daily"])
    assert paced_sales == pytest.approx(Decimal(totals["incremental_revenue"]), rel=Decimal("0.05"))
    assert all(Decimal(d["trend_spend"]) >= 0 for d in pacing["daily"])
    assert "spend $2,700.00 of the $3,000.00 budget ($300.00 held back for experiments)" in detail["rationale"]
    # and the fitted posteriors are kept for the next plan and the daily follow-up
    with schema_context("acme"):
        assert ResponseCurve.objects.count() == len(detail["cells"])


def test_incrementality_comes_from_the_request_then_stored_readouts_then_defaults(acme, walmart_history):
    with schema_context("acme"):
        IncrementalityFactor.objects.create(network="walmart", factor=0.8, source="geo test 7")
    plan = built({"budget": "1000", "scope": SCOPE, "incrementality": {"in_grid": 0.3}})
    sources = {c["show"]["incrementality_source"] for c in plan.cells}
    assert sources == {"plan request (in_grid)"}
    assert {c["incrementality"] for c in plan.cells} == {0.3}

    plan = built({"budget": "1000", "scope": SCOPE})
    assert {c["show"]["incrementality_source"] for c in plan.cells} == {"geo test 7"}
    # a higher factor means more incremental sales per attributed dollar: the fitted curves scale with it
    with schema_context("acme"):
        vmax_stored = {c.cell: c.vmax for c in ResponseCurve.objects.all()}
    first = built({"budget": "1000", "scope": SCOPE, "incrementality": {"walmart": 0.4}})
    ratio = [vmax_stored[c["id"]] / c["show"]["daily_curve"]["vmax"] for c in first.cells]
    assert all(r == pytest.approx(2.0, rel=0.02) for r in ratio)


def test_an_infeasible_plan_fails_with_the_conflict_and_the_best_achievable(acme, walmart_history):
    plan = new_plan({"budget": "2000", "scope": SCOPE, "constraints": {"min_roas": 80, "spend_all": True}})

    with schema_context("acme"), pytest.raises(PlanBuildError) as raised:
        plan_build(plan)

    assert raised.value.code == "infeasible"
    with schema_context("acme"):
        plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED
    assert plan.error["code"] == "infeasible" and "min_roas" in " ".join(plan.error["details"]["conflicts"])
    assert plan.error["details"]["best_achievable"]


@pytest.mark.parametrize(("request_data", "code", "field"), [
    ({"budget": "10", "scope": {"networks": ["amazon"]}}, "unknown_network", "scope.networks"),
    ({"budget": "10", "constraints": {"node_bounds": [{"network": "instacart", "max": "5"}]}}, "unknown_node",
     "constraints.node_bounds[0]"),
    ({"budget": "10", "constraints": {"fixed_nodes": [{"path": ["onsite", "walmart", "video"]}]}}, "unknown_node",
     "constraints.fixed_nodes[0]"),
])
def test_plans_naming_what_the_data_does_not_have_fail_with_the_field(acme, walmart_history, request_data, code,
                                                                     field):
    plan = new_plan(request_data)
    with schema_context("acme"), pytest.raises(PlanBuildError):
        plan_build(plan)
    with schema_context("acme"):
        plan.refresh_from_db()
    assert (plan.status, plan.error["code"], plan.error["details"]["field"]) == ("failed", code, field)


def test_a_plan_without_any_ad_data_fails_saying_so(acme):
    plan = new_plan({"budget": "10"})
    with schema_context("acme"), pytest.raises(PlanBuildError):
        plan_build(plan)
    with schema_context("acme"):
        plan.refresh_from_db()
    assert plan.error["code"] == "no_data" and "ingest" in plan.error["message"]


def test_network_bounds_hold_and_bind(acme, walmart_history):
    free = built({"budget": "3000", "scope": SCOPE, "constraints": {"spend_all": True}})
    walmart_free = Decimal(free.allocation["totals"]["spend"])
    assert walmart_free == Decimal("3000.00")

    # (revenue grows with every dollar, so only the cap stops the spend)
    capped = built({"budget": "3000", "objective": "revenue", "scope": SCOPE, "constraints": {
        "node_bounds": [{"network": "walmart", "placement": "in_grid", "max": "1000"}]}})

    assert Decimal(capped.allocation["totals"]["spend"]) == Decimal("1000.00")
    assert any(b["constraint"] == "node_max" for b in capped.allocation["binding"])


def test_explore_plans_draw_one_posterior_sample_per_cell(acme, walmart_history):
    plan = built({"budget": "2000", "scope": SCOPE, "explore": True, "seed": 3,
                  "constraints": {"spend_all": True}})

    draws = plan.allocation["thompson_draws"]
    assert set(draws) == {c["id"] for c in plan.cells}
    assert Decimal(plan.allocation["totals"]["spend"]) == Decimal("2000.00")


def test_two_plans_compare_by_network_and_placement(acme, walmart_history):
    first = built({"budget": "1000", "scope": SCOPE, "constraints": {"spend_all": True}})
    second = built({"budget": "2500", "scope": SCOPE, "constraints": {"spend_all": True}})

    body = api_client_for(acme, username="acme-viewer").get(f"/api/v1/plans/{first.pk}/compare/{second.pk}").json()

    row = next(r for r in body["nodes"] if r["path"] == ["onsite", "walmart"])
    assert (Decimal(row["first"]), Decimal(row["second"]), Decimal(row["change"])) == (
        Decimal("1000.00"), Decimal("2500.00"), Decimal("1500.00"))
    assert body["totals"]["spend"] == {"first": "1000.00", "second": "2500.00"}


@pytest.mark.worker
def test_the_real_worker_builds_a_posted_plan(live_db, celery_workers, acme, committed_walmart_history):
    client = api_client_for(acme, username="acme-analyst")

    body = client.post("/api/v1/plans", {"budget": "1500", "scope": SCOPE}, format="json").json()
    job = wait_for_job(client, body["job"], timeout=120)

    assert job["status"] == "succeeded", job
    detail = client.get(f"/api/v1/plans/{body['plan']}").json()
    assert detail["status"] == "ready" and detail["allocation"]["cells"]
