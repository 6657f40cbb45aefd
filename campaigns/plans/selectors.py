"""Reads for plans: the list, one plan, and two plans side by side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from campaigns.plans.models import Plan


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.defer("cells", "allocation", "monitoring").order_by("-created_at")


def plan_get(plan_id: int) -> Plan | None:
    return Plan.objects.filter(pk=plan_id).first()


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.pk, "name": plan.name, "status": plan.status, "objective": plan.objective,
        "budget": _money(plan.budget), "job": str(plan.job_id) if plan.job_id else None,
        "created_by": plan.created_by, "created_at": plan.created_at.isoformat(),
        "flight_start": _date(plan.flight_start), "flight_end": _date(plan.flight_end),
        "expected_spend": _money(plan.expected_spend),
        "expected_incremental_revenue": _money(plan.expected_incremental_revenue),
        "expected_incremental_margin": _money(plan.expected_incremental_margin),
        "error": plan.error,
    }


def plan_detail(plan: Plan) -> dict[str, Any]:
    return {
        **plan_summary(plan), "request": plan.request,
        "history_from": _date(plan.history_from), "history_to": _date(plan.history_to),
        "allocation": plan.allocation, "cells": plan.cells, "monitoring": plan.monitoring,
        "assumptions": plan.assumptions, "rationale": plan.rationale,
        "outcomes": [
            {"date": o.date.isoformat(), "planned_spend": str(o.planned_spend), "actual_spend": str(o.actual_spend),
             "expected_incremental_sales": str(o.expected_incremental_sales),
             "actual_incremental_sales": str(o.actual_incremental_sales),
             "expected_incremental_margin": str(o.expected_incremental_margin),
             "actual_incremental_margin": str(o.actual_incremental_margin), "regret": str(o.regret)}
            for o in plan.outcomes.order_by("date")
        ],
    }


def plan_compare(first: Plan, second: Plan) -> dict[str, Any]:
    """Two ready plans side by side: totals, and spend per network/placement node with the difference."""
    def nodes(plan: Plan) -> dict[tuple[str, ...], Decimal]:
        found = (plan.allocation or {}).get("nodes", [])
        return {tuple(n["path"]): Decimal(n["spend"]) for n in found if len(n["path"]) in (2, 3)}

    a, b = nodes(first), nodes(second)
    rows = [{"path": list(path), "first": str(a.get(path, Decimal("0.00"))),
             "second": str(b.get(path, Decimal("0.00"))),
             "change": str(b.get(path, Decimal("0.00")) - a.get(path, Decimal("0.00")))}
            for path in sorted(set(a) | set(b))]
    totals = {key: {"first": (first.allocation or {}).get("totals", {}).get(key),
                    "second": (second.allocation or {}).get("totals", {}).get(key)}
              for key in ("spend", "incremental_revenue", "incremental_margin", "roas_incremental",
                          "roas_attributed")}
    return {"first": plan_summary(first), "second": plan_summary(second), "totals": totals, "nodes": rows}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _date(value) -> str | None:
    return None if value is None else value.isoformat()
