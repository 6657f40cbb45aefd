"""Writes for plans: create one (validated, stored, queued as a job), and the follow-up's curve refresh."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.plans.models import Plan
from campaigns.plans.request import PlanRequest, plan_request_from_dict
from governance.audit.services import audit_record
from tenants.jobs.services import job_create


def plan_create(*, actor: str, data: Any) -> Plan:
    """Validate the request (PlanRequestError names the bad field), store the plan and queue its build."""
    from campaigns.tasks import build_plan

    request: PlanRequest = plan_request_from_dict(data)
    with transaction.atomic():
        plan = Plan.objects.create(
            name=request.name or f"Plan of {timezone.localdate():%b %d, %Y}", created_by=actor, request=data,
            budget=request.budget, objective=request.objective,
        )
        plan.job = job_create(kind="plan", actor=actor, params={"plan": plan.pk}, task=build_plan)
        plan.save(update_fields=["job", "updated_at"])
        audit_record(actor=actor, action="plan.create", object_type="plan", object_id=str(plan.pk),
                     details={"budget": str(request.budget), "objective": request.objective,
                              "networks": list(request.networks), "explore": request.explore})
    return plan
