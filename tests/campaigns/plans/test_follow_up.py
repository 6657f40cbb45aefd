"""The daily follow-up: curves refitted from the latest RMIS data, and each running plan's days recorded as
realized vs expected with the regret."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.models import RMISEvent
from campaigns.plans.build import plan_build
from campaigns.plans.follow_up import plan_follow_up
from campaigns.plans.models import Plan, PlanOutcome, ResponseCurve
from campaigns.tasks import plan_follow_up_task
from tenants.jobs.runner import TENANT_REQUIRED, TenantRequired


def plan_over_the_last_two_weeks(truth: dict) -> Plan:
    """A plan whose flight is the last 14 days of the data, built on the 4 weeks before (so it has outcomes)."""
    end = dt.date.fromisoformat(truth["end"])
    start = end - dt.timedelta(days=13)
    plan = Plan.objects.create(name="last fortnight", created_by="user:acme-analyst", request={
        "budget": "1400", "constraints": {"spend_all": True},
        "scope": {"history_to": (start - dt.timedelta(days=1)).isoformat(), "flight_start": start.isoformat(),
                  "flight_end": end.isoformat()}})
    plan_build(plan)
    plan.refresh_from_db()
    return plan


def test_the_follow_up_records_each_flight_day_against_the_plan(acme, walmart_history):
    with schema_context("acme"):
        # given a ready plan whose flight has data, and one that failed
        plan = plan_over_the_last_two_weeks(walmart_history)
        failed = Plan.objects.create(name="failed", created_by="x", status="failed", request={})
        assert plan.status == "ready"
        ResponseCurve.objects.all().delete()

        # when the follow-up runs (twice: data may be restated, so days are rewritten, never doubled)
        first = plan_follow_up()
        second = plan_follow_up()

        # then every flight day has one outcome, and the curves were refitted on the latest window
        outcomes = list(PlanOutcome.objects.filter(plan=plan).order_by("date"))
        assert first == second == {"curves": ResponseCurve.objects.count(), "outcomes": 14}
        assert [o.date for o in outcomes] == [plan.flight_start + dt.timedelta(days=i) for i in range(14)]
        assert not PlanOutcome.objects.filter(plan=failed).exists()
        assert ResponseCurve.objects.filter(history_to=plan.flight_end).count() == len(plan.cells)
        # and each day's actual spend is what RMIS holds for it; the plan paces its spend evenly
        day = outcomes[3]
        spent = sum(e.spend for e in RMISEvent.objects.filter(date=day.date))
        assert day.actual_spend == spent.quantize(Decimal("0.01"))
        assert day.planned_spend == Decimal("100.00")
        # and regret is the expected margin less the realized one, from the plan's own curves and factors
        for outcome in outcomes:
            assert outcome.regret == outcome.expected_incremental_margin - outcome.actual_incremental_margin
        # (every Walmart cell has the in-grid default factor, 0.5: incremental is half of attributed)
        assert {c["incrementality"] for c in plan.cells} == {0.5}
        for outcome in outcomes:
            assert abs(outcome.actual_incremental_sales - outcome.actual_attributed_sales / 2) <= Decimal("0.01")


def test_the_plan_detail_lists_its_outcomes(acme, walmart_history):
    from tests.conftest import api_client_for

    with schema_context("acme"):
        plan = plan_over_the_last_two_weeks(walmart_history)
        plan_follow_up()

    body = api_client_for(acme, username="acme-viewer").get(f"/api/v1/plans/{plan.pk}").json()

    assert len(body["outcomes"]) == 14
    assert set(body["outcomes"][0]) >= {"date", "planned_spend", "actual_spend", "regret"}


def test_the_follow_up_is_scheduled_daily_and_fails_closed_without_a_tenant(acme):
    entry = settings.CELERY_BEAT_SCHEDULE["plan-follow-up"]
    assert (entry["task"], entry["schedule"]) == ("campaigns.plan_follow_up_all_tenants", 86400.0)

    connection.set_schema_to_public()
    with pytest.raises(TenantRequired, match=TENANT_REQUIRED):
        plan_follow_up_task.apply(throw=True)
