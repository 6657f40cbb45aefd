"""Pages: the plan list with the plan builder, one plan (progress while it builds, the allocation when ready, the
reason when it failed), and two plans compared.

Viewers read every page; creating a plan needs an analyst (`page(write=True)` refuses their POSTs).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from campaigns.charts import bar_chart, curve_chart, line_chart
from campaigns.models import Placement
from campaigns.optimize.problem import ROAS_BASES, Objective
from campaigns.plans.models import Plan, PlanStatus
from campaigns.plans.request import DEFAULT_FLIGHT_DAYS, DEFAULT_MARGIN_RATE, PlanRequestError
from campaigns.plans.selectors import plan_compare, plan_get, plan_list
from campaigns.plans.services import plan_create
from rmn_saas.page_access import page

PLANS_TEMPLATE = "campaigns/plans/plans.html"
PLAN_TEMPLATE = "campaigns/plans/plan.html"
COMPARE_TEMPLATE = "campaigns/plans/compare.html"
PAGE_PLANS = 50
CURVES_SHOWN = 6
ZERO = Decimal("0.00")
AT_BOUND = {"max": "at its max", "min": "at its min", "fixed": "fixed", "out of stock": "out of stock"}
BOUND_PREFIX = "max_spend__"

# -- the builder ------------------------------------------------------------------------------------------------


class PlanForm(forms.Form):
    """What a plan asks for. Fields only parse; the rules (ranges, dates in order) are the request schema's, so
    the page and /api/v1/plans answer the same bad input with the same message."""

    name = forms.CharField(max_length=200, required=False)
    budget = forms.DecimalField(help_text="Over the whole flight.")
    objective = forms.ChoiceField(choices=[(o.value, o.value.capitalize()) for o in Objective], required=False,
                                  initial=Objective.MARGIN.value)
    min_roas = forms.FloatField(required=False, label="Min ROAS")
    roas_basis = forms.ChoiceField(choices=[(basis, basis) for basis in ROAS_BASES], initial=ROAS_BASES[0],
                                   required=False, label="ROAS basis")
    max_cpa = forms.DecimalField(required=False, label="Max CPA")
    reserve_share = forms.FloatField(required=False, initial=0, label="Reserve share",
                                     help_text="Share of the budget held back for experiments, 0 to 0.99.")
    stockout_threshold = forms.FloatField(required=False, initial=0.5, label="Stock-out threshold",
                                          help_text="SKUs likelier than this to sell out get no spend.")
    spend_all = forms.BooleanField(required=False, label="Spend the whole budget")
    networks = forms.MultipleChoiceField(required=False, help_text="None selected: every network with data.")
    flight_start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    days = forms.IntegerField(required=False, initial=DEFAULT_FLIGHT_DAYS, label="Days")
    flight_end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Instead of days.")
    history_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    history_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    default_margin_rate = forms.FloatField(required=False, initial=DEFAULT_MARGIN_RATE,
                                           help_text="For SKUs without price and unit cost.")
    explore = forms.BooleanField(required=False, help_text="Plan on one posterior draw per cell (Thompson sampling).")

    def __init__(self, *args, networks: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["networks"].choices = [(network, network) for network in networks]
        self.bound_names = []
        for network in networks:
            name = f"{BOUND_PREFIX}{network}"
            self.fields[name] = forms.DecimalField(required=False, label=f"Max spend on {network}")
            self.bound_names.append(name)

    @property
    def bound_fields(self) -> list:
        return [self[name] for name in self.bound_names]

    def plan_request(self) -> dict[str, Any]:
        """The request as /api/v1/plans takes it: only what was filled in, money as strings."""
        data = self.cleaned_data
        request: dict[str, Any] = {"budget": str(data["budget"]),
                                   "objective": data["objective"] or Objective.MARGIN.value}
        if data["name"].strip():
            request["name"] = data["name"].strip()
        constraints: dict[str, Any] = {}
        for key in ("min_roas", "reserve_share", "stockout_threshold"):
            if data[key] is not None:
                constraints[key] = data[key]
        if data["min_roas"] is not None and data["roas_basis"]:
            constraints["roas_basis"] = data["roas_basis"]
        if data["max_cpa"] is not None:
            constraints["max_cpa"] = str(data["max_cpa"])
        if data["spend_all"]:
            constraints["spend_all"] = True
        bounds = [{"network": name.removeprefix(BOUND_PREFIX), "max": str(data[name])}
                  for name in self.bound_names if data.get(name) is not None]
        if bounds:
            constraints["node_bounds"] = bounds
        if constraints:
            request["constraints"] = constraints
        scope: dict[str, Any] = {}
        if data["networks"]:
            scope["networks"] = list(data["networks"])
        for key in ("history_from", "history_to", "flight_start", "flight_end"):
            if data[key] is not None:
                scope[key] = data[key].isoformat()
        if data["flight_end"] is None and data["days"] is not None:
            scope["days"] = data["days"]
        if scope:
            request["scope"] = scope
        if data["default_margin_rate"] is not None:
            request["default_margin_rate"] = data["default_margin_rate"]
        if data["explore"]:
            request["explore"] = True
        return request

    def field_of(self, request_field: str) -> str | None:
        """The form field a PlanRequestError names (`constraints.max_cpa` → max_cpa); None for the form as a whole."""
        head, _, rest = request_field.partition(".")
        if head == "constraints" and rest.startswith("node_bounds["):
            index = rest.removeprefix("node_bounds[").split("]")[0]
            filled = [name for name in self.bound_names if self.cleaned_data.get(name) is not None]
            return filled[int(index)] if index.isdigit() and int(index) < len(filled) else None
        name = rest.split(".")[0] if head in ("constraints", "scope") else head
        return name if name in self.fields else None


def _networks() -> list[str]:
    from campaigns.plans.history import known_networks  # its module loads polars, which the web process need not

    return known_networks()


def _plan_rows() -> list[Plan]:
    return list(plan_list()[:PAGE_PLANS])


def _plans_context(form: PlanForm | None = None, **extra) -> dict:
    networks = _networks()
    plans = _plan_rows()
    return {"form": form or PlanForm(networks=networks), "networks": networks, "plans": plans,
            "building": any(plan.status == PlanStatus.QUEUED for plan in plans), **extra}


@page()
def plans_page(request):
    if request.htmx and request.GET.get("part") == "list":
        plans = _plan_rows()
        return render(request, f"{PLANS_TEMPLATE}#plan-list",
                      {"plans": plans, "building": any(plan.status == PlanStatus.QUEUED for plan in plans)})
    return render(request, PLANS_TEMPLATE, _plans_context())


@require_POST
@page(write=True)
def plan_submit(request):
    form = PlanForm(request.POST, networks=_networks())
    if form.is_valid():
        try:
            plan = plan_create(actor=request.user.actor, data=form.plan_request())
        except PlanRequestError as exc:
            form.add_error(form.field_of(exc.field), exc.message)
        else:
            url = reverse("pages:plan", args=[plan.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = f"{PLANS_TEMPLATE}#plan-builder" if request.htmx else PLANS_TEMPLATE
    # Errors come back as 200, as on the data page: htmx swaps only successful answers, and the form must show them.
    return render(request, template, _plans_context(form))


# -- one plan ---------------------------------------------------------------------------------------------------


def _plan_or_404(plan_id: int) -> Plan:
    plan = plan_get(plan_id)
    if plan is None:
        raise Http404
    return plan


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _interval(intervals: dict, key: str) -> dict | None:
    found = intervals.get(key)
    if not found:
        return None
    return {"low": Decimal(str(found["low"])), "high": Decimal(str(found["high"]))}


def _totals(allocation: dict) -> dict:
    totals, intervals = allocation.get("totals") or {}, allocation.get("intervals") or {}
    money = {key: _money(totals.get(key)) for key in (
        "budget", "allocatable", "reserve", "spend", "current_spend", "incremental_revenue", "incremental_margin",
        "cpa", "current_incremental_revenue", "current_incremental_margin")}
    return {
        **money,
        "roas_incremental": totals.get("roas_incremental"), "roas_attributed": totals.get("roas_attributed"),
        "conversions": totals.get("conversions"),
        "spend_change": (money["spend"] or ZERO) - (money["current_spend"] or ZERO),
        "revenue_change": (money["incremental_revenue"] or ZERO) - (money["current_incremental_revenue"] or ZERO),
        "margin_change": (money["incremental_margin"] or ZERO) - (money["current_incremental_margin"] or ZERO),
        "intervals": {key: _interval(intervals, key) for key in (
            "incremental_revenue", "incremental_margin", "roas_incremental", "roas_attributed", "conversions")},
    }


def _placement_label(placement: str) -> str:
    return Placement(placement).label if placement in Placement.values else placement


def _by_level(nodes: list[dict], depth: int) -> list[dict]:
    """Spend per network (depth 2) or network/placement (depth 3), summed over channels: a network can be on both."""
    rows: dict[tuple[str, ...], dict] = {}
    for node in nodes:
        if len(node["path"]) != depth:
            continue
        key = tuple(node["path"][1:])
        row = rows.setdefault(key, {"key": key, "current": ZERO, "proposed": ZERO, "incremental_margin": ZERO,
                                    "incremental_sales": ZERO})
        row["current"] += Decimal(node["current_spend"])
        row["proposed"] += Decimal(node["spend"])
        row["incremental_sales"] += Decimal(node["incremental_sales"])
        row["incremental_margin"] += Decimal(node["incremental_margin"])
    for row in rows.values():
        row["change"] = row["proposed"] - row["current"]
        row["label"] = " / ".join([row["key"][0], *map(_placement_label, row["key"][1:])])
    return sorted(rows.values(), key=lambda row: row["key"])


def _spend_chart(rows: list[dict]):
    labels = [row["label"] for row in rows]
    return bar_chart(labels=labels, series=[("Current", [row["current"] for row in rows]),
                                            ("Proposed", [row["proposed"] for row in rows])])


def _cells(plan: Plan, allocation: dict) -> list[dict]:
    inputs = {cell["id"]: cell for cell in plan.cells or []}
    rows = []
    for cell in allocation.get("cells") or []:
        given = inputs.get(cell["id"], {})
        shown = given.get("show") or {}
        path = cell["path"]
        rows.append({
            "id": cell["id"], "network": path[1], "placement": _placement_label(path[2]), "campaign": path[3],
            "product": path[4] if len(path) > 4 else "", "name": shown.get("name") or (path[-1] if path else ""),
            "current": Decimal(cell["current_spend"]), "proposed": Decimal(cell["spend"]),
            "change": Decimal(cell["change"]), "incremental_sales": Decimal(cell["incremental_sales"]),
            "incremental_margin": Decimal(cell["incremental_margin"]),
            "at": AT_BOUND.get(cell.get("at") or "", cell.get("at") or ""),
            "stockout_prob": given.get("stockout_prob"), "inventory_cap": _money(given.get("inventory_cap")),
            "thin": shown.get("thin", False), "curve": given.get("curve"),
        })
    return sorted(rows, key=lambda row: (-row["proposed"], -row["current"], row["id"]))


def _curves(cells: list[dict]) -> list[dict]:
    """Response curves of the top cells by proposed spend, with the current and proposed points marked."""
    shown = [cell for cell in cells if cell["curve"] and (cell["proposed"] or cell["current"])][:CURVES_SHOWN]
    return [{"cell": cell, "index": index,
             "chart": curve_chart(curve=cell["curve"], current=cell["current"], proposed=cell["proposed"])}
            for index, cell in enumerate(shown)]


def _pacing(monitoring: dict) -> dict:
    pacing = monitoring.get("pacing") or {}
    networks = sorted(pacing)
    tables = [{"network": network, "total": Decimal(pacing[network]["total"]),
               "weekly": [{"week_of": week["week_of"], "spend": Decimal(week["spend"])}
                          for week in pacing[network].get("weekly") or []]} for network in networks]
    days = sorted({day["date"] for network in networks for day in pacing[network].get("daily") or []})
    chart = None
    if days:
        series = []
        for network in networks:
            daily = {day["date"]: Decimal(day["spend"]) for day in pacing[network].get("daily") or []}
            series.append((network, [daily.get(day) for day in days]))
        chart = line_chart(labels=[day[5:] for day in days], series=series)
    return {"tables": tables, "chart": chart}


def _request_items(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The request as flat `key: value` lines (constraints.min_roas: 3), for the "what was asked" list."""
    if isinstance(data, dict):
        return [item for key, value in data.items() for item in _request_items(value, f"{prefix}{key}.")]
    if isinstance(data, list) and any(isinstance(value, dict | list) for value in data):
        return [item for index, value in enumerate(data) for item in _request_items(value, f"{prefix[:-1]}[{index}].")]
    if isinstance(data, list):
        return [(prefix[:-1], ", ".join(map(str, data)))]
    return [(prefix[:-1], data if isinstance(data, str) else json.dumps(data))]  # true, not True


def _outcomes(plan: Plan) -> dict | None:
    rows = list(plan.outcomes.order_by("date"))
    if not rows:
        return None
    keys = ("planned_spend", "actual_spend", "expected_incremental_sales", "actual_incremental_sales",
            "expected_incremental_margin", "actual_incremental_margin", "regret")
    return {"rows": rows, "totals": {key: sum((getattr(row, key) for row in rows), ZERO) for key in keys}}


def _ready_context(plan: Plan) -> dict:
    allocation = plan.allocation or {}
    nodes = allocation.get("nodes") or []
    networks, placements = _by_level(nodes, 2), _by_level(nodes, 3)
    cells = _cells(plan, allocation)
    monitoring = plan.monitoring or {}
    others = Plan.objects.filter(status=PlanStatus.READY).exclude(pk=plan.pk).only("pk", "name", "created_at")
    return {
        "totals": _totals(allocation),
        "rationale": plan.rationale.splitlines(),
        "networks": networks, "network_chart": _spend_chart(networks),
        "placements": placements, "placement_chart": _spend_chart(placements),
        "cells": cells, "curves": _curves(cells),
        "binding": allocation.get("binding") or [], "checks": allocation.get("checks") or [],
        "notes": allocation.get("notes") or [],
        "monitoring": monitoring, "pacing": _pacing(monitoring),
        "assumptions": plan.assumptions or [], "outcomes": _outcomes(plan),
        "others": list(others[:PAGE_PLANS]),
    }


def _plan_context(plan: Plan) -> dict:
    context = {"plan": plan, "job": plan.job if plan.job_id else None, "asked": _request_items(plan.request)}
    if plan.status == PlanStatus.READY:
        context.update(_ready_context(plan))
    return context


@page()
def plan_page(request, plan_id: int):
    plan = _plan_or_404(plan_id)
    other = request.GET.get("compare", "")
    if other.isdigit():
        return redirect("pages:plan-compare", plan_id=plan.pk, other_id=int(other))
    if request.htmx and request.GET.get("part") == "status":
        if plan.status != PlanStatus.QUEUED:
            return HttpResponseClientRefresh()  # built (or failed): the whole page changes, so load it again
        return render(request, f"{PLAN_TEMPLATE}#plan-status", _plan_context(plan))
    return render(request, PLAN_TEMPLATE, _plan_context(plan))


# -- two plans --------------------------------------------------------------------------------------------------

COMPARED = (("spend", "Spend", "money"), ("incremental_revenue", "Incremental revenue", "money"),
            ("incremental_margin", "Incremental margin", "money"), ("roas_incremental", "Incremental ROAS", "ratio"),
            ("roas_attributed", "Attributed ROAS", "ratio"))


def _compared_totals(totals: dict) -> list[dict]:
    rows = []
    for key, label, kind in COMPARED:
        first, second = totals[key]["first"], totals[key]["second"]
        if kind == "money":
            first, second = _money(first), _money(second)
        change = second - first if first is not None and second is not None else None
        rows.append({"key": key, "label": label, "kind": kind, "first": first, "second": second, "change": change})
    return rows


def _compared_nodes(nodes: list[dict], depth: int) -> list[dict]:
    """Rows per network (depth 2) or network/placement (depth 3), summed over channels as on the plan page."""
    rows: dict[tuple[str, ...], dict] = {}
    for node in nodes:
        if len(node["path"]) != depth:
            continue
        key = tuple(node["path"][1:])
        row = rows.setdefault(key, {"key": key, "label": " / ".join([key[0], *map(_placement_label, key[1:])]),
                                    "first": ZERO, "second": ZERO, "change": ZERO})
        for field in ("first", "second", "change"):
            row[field] += Decimal(node[field])
    return sorted(rows.values(), key=lambda row: row["key"])


@page()
def plan_compare_page(request, plan_id: int, other_id: int):
    first, second = _plan_or_404(plan_id), _plan_or_404(other_id)
    not_ready = [plan for plan in (first, second) if plan.status != PlanStatus.READY]
    context: dict[str, Any] = {"first": first, "second": second, "not_ready": not_ready}
    if not not_ready:
        compared = plan_compare(first, second)
        names = (f"#{first.pk} {first.name}", f"#{second.pk} {second.name}")
        sections = []
        for depth, section_id, title in ((2, "network", "By network"), (3, "placement", "By network and placement")):
            rows = _compared_nodes(compared["nodes"], depth)
            chart = bar_chart(labels=[row["label"] for row in rows],
                              series=[(names[0], [row["first"] for row in rows]),
                                      (names[1], [row["second"] for row in rows])])
            sections.append({"id": section_id, "title": title, "rows": rows, "chart": chart})
        context.update({"totals": _compared_totals(compared["totals"]), "sections": sections})
    return render(request, COMPARE_TEMPLATE, context)
