"""Build a plan from the tenant's own RMIS data: fit the curves, price the cells, forecast stock-outs, allocate,
then write the monitoring plan and the rationale. Runs on the `default` worker (campaigns.build_plan)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from campaigns.optimize import Infeasible, ProblemError, allocate, problem_from_dict, thompson_allocation
from campaigns.optimize.curves import Curve
from campaigns.plans.curves import Skipped, flight_curve, refresh_curves, spend_for_sales
from campaigns.plans.history import data_range, known_networks, sales_inventory, sku_economics
from campaigns.plans.incrementality import Factors
from campaigns.plans.models import Plan, PlanStatus, ResponseCurve
from campaigns.plans.request import DEFAULT_HISTORY_DAYS, NodeRef, PlanRequest, plan_request_from_dict

LEVELS = ("channel", "network", "placement", "campaign", "product")  # product: the SKU, else the ad group
OFFSITE_PLACEMENTS = {"offsite"}
CENT = Decimal("0.01")


class PlanBuildError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


@dataclass
class PlanInputs:
    history_from: dt.date
    history_to: dt.date
    flight_start: dt.date
    flight_end: dt.date
    cells: list[dict[str, Any]]  # one per cell: the problem's cell plus what the plan shows about it
    assumptions: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.flight_end - self.flight_start).days + 1


def channel_of(placement: str) -> str:
    return "offsite" if placement in OFFSITE_PLACEMENTS else "onsite"


def plan_inputs(request: PlanRequest, *, today: dt.date | None = None) -> PlanInputs:
    """Everything the allocation needs, from RMIS: fitted curves scaled to the flight, margins, factors, stock-outs."""
    networks = list(request.networks) or None
    if networks:
        unknown = sorted(set(networks) - set(known_networks()))
        if unknown:
            raise PlanBuildError("unknown_network", f"No ad data for network {unknown[0]!r}.",
                                 {"field": "scope.networks", "known": known_networks()})
    span = data_range(networks)
    if span is None:
        raise PlanBuildError("no_data", "There is no ad data to plan from yet: ingest the networks' exports first.")
    history_to = request.history_to or span[1]
    history_from = request.history_from or max(span[0], history_to - dt.timedelta(days=DEFAULT_HISTORY_DAYS - 1))
    today = today or timezone.localdate()
    flight_start = request.flight_start or max(today, history_to + dt.timedelta(days=1))
    flight_end = request.flight_end or flight_start + dt.timedelta(days=request.flight_days - 1)
    inputs = PlanInputs(history_from, history_to, flight_start, flight_end, cells=[])

    factors = Factors(request.incrementality)
    stored, inputs.skipped = refresh_curves(history_from=history_from, history_to=history_to, networks=networks,
                                            factors=factors, seed=request.seed or 0)
    if not stored:
        raise PlanBuildError("no_data", f"No cell has spend between {history_from} and {history_to}.",
                             {"field": "scope"})
    economics = sku_economics(sorted({c.gtin14 for c in stored.values() if c.gtin14}))
    wanted = {(c.gtin14, c.network) for c in stored.values() if c.gtin14}
    stockouts = _stockouts(history_from, history_to, inputs.days, wanted, inputs.assumptions)
    inputs.cells = [_cell(curve, inputs.days, economics.get(curve.gtin14), stockouts.get((curve.gtin14, curve.network)),
                          request, inputs.assumptions)
                    for curve in sorted(stored.values(), key=lambda c: c.cell)]
    _inventory_caps(inputs.cells, inputs.days)
    if inputs.skipped:
        inputs.assumptions.append(f"{len(inputs.skipped)} cells were left out: " + "; ".join(
            f"{s.cell} ({s.reason})" for s in inputs.skipped[:5]) + ("; ..." if len(inputs.skipped) > 5 else ""))
    return inputs


def _cell(curve: ResponseCurve, days: int, sku, stockout, request: PlanRequest, assumptions: list[str]) -> dict:
    margin_rate = sku.margin_rate if sku is not None else None
    if margin_rate is None:
        margin_rate = request.default_margin_rate
        note = f"SKUs without price and unit cost use a margin rate of {request.default_margin_rate:.0%}."
        if note not in assumptions:
            assumptions.append(note)
    scaled = flight_curve(Curve(curve.form, curve.vmax, curve.h, curve.k), days)
    samples = [flight_curve({"form": curve.form, **draw}, days) for draw in curve.samples]
    current = (curve.mean_daily_spend * days).quantize(CENT)
    return {
        "id": curve.cell,
        "path": [channel_of(curve.placement), curve.network, curve.placement, curve.campaign_name or curve.campaign,
                 curve.product],
        "curve": {"form": scaled.form, "vmax": scaled.vmax, "h": scaled.h, "k": scaled.k},
        "samples": [{"vmax": s.vmax, "h": s.h, "k": s.k} for s in samples],
        "margin_rate": round(margin_rate, 6),
        "price": str(sku.price) if sku is not None and sku.price else None,
        "incrementality": curve.incrementality,
        "current_spend": str(current),
        "stockout_prob": float(stockout.probability) if stockout is not None and stockout.probability else 0.0,
        # What the plan page shows next to the cell; the solver ignores these keys.
        "show": {
            "name": sku.name if sku is not None else curve.product,
            "campaign": curve.campaign, "gtin14": curve.gtin14,
            "daily_curve": {"form": curve.form, "vmax": curve.vmax, "h": curve.h, "k": curve.k},
            "incrementality_source": curve.incrementality_source,
            "n_points": curve.n_points, "rmse": round(curve.rmse, 4), "thin": curve.thin,
            "carryover": curve.carryover,
            "stockout": stockout.reason if stockout is not None else "",
            "sellable_units": getattr(stockout, "sellable_units", None),
            "stockout_window_days": getattr(stockout, "horizon_days", None),
        },
    }


def _stockouts(history_from: dt.date, history_to: dt.date, days: int, wanted: set[tuple[str, str]],
               assumptions: list[str]) -> dict:
    """Stock-out forecasts for the (SKU, retailer) pairs the plan's cells sell through."""
    import polars as pl

    from campaigns.optimize.forecast import stockout_forecasts

    sales = sales_inventory(date_from=history_from, date_to=history_to)
    keys = pl.DataFrame(sorted(wanted), schema={"gtin14": pl.Utf8, "retailer": pl.Utf8}, orient="row")
    sales = sales.join(keys, on=["gtin14", "retailer"], how="semi")
    if sales.is_empty():
        assumptions.append("No sales and inventory data for the plan's SKUs at its networks' retailers: stock-out "
                           "risk is not part of this plan.")
        return {}
    assumptions.append("A network's inventory is the retailer of the same name in the sales and inventory data; "
                       "spare units per day until the next delivery are assumed to hold over the flight.")
    return stockout_forecasts(sales, as_of=history_to, horizon_days=days)


def _inventory_caps(cells: list[dict], days: int) -> None:
    """Cap each cell's spend at what its SKU's sellable units support: the units left over organic demand until the
    next delivery, as a daily rate held over the flight, shared between the SKU's cells on the network in
    proportion to their current spend."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for cell in cells:
        if cell["show"]["sellable_units"] is not None and cell["price"]:
            groups[(cell["path"][1], cell["show"]["gtin14"])].append(cell)
    for members in groups.values():
        spends = [Decimal(c["current_spend"]) for c in members]
        total = sum(spends)
        for cell, spend in zip(members, spends, strict=True):
            share = float(spend / total) if total else 1 / len(members)
            window = max(int(cell["show"]["stockout_window_days"] or 1), 1)
            units = float(cell["show"]["sellable_units"]) / window * days
            sales = units * share * float(cell["price"])
            curve = cell["curve"]
            cap = spend_for_sales(Curve(curve["form"], curve["vmax"], curve["h"], curve["k"]), sales)
            if cap is not None:
                cell["inventory_cap"] = str(Decimal(str(cap)).quantize(CENT))


def plan_problem(request: PlanRequest, inputs: PlanInputs) -> dict:
    paths = [tuple(c["path"]) for c in inputs.cells]
    constraints: dict[str, Any] = {
        "budget": str(request.budget), "spend_all": request.spend_all, "reserve_share": request.reserve_share,
        "stockout_threshold": request.stockout_threshold, "roas_basis": request.roas_basis,
        "node_bounds": [{"path": list(_resolve(node, paths, f"constraints.node_bounds[{i}]")),
                         **({"min": str(low)} if low is not None else {}),
                         **({"max": str(high)} if high is not None else {})}
                        for i, (node, low, high) in enumerate(request.node_bounds)],
        "fixed_nodes": [list(_resolve(node, paths, f"constraints.fixed_nodes[{i}]"))
                        for i, node in enumerate(request.fixed_nodes)],
    }
    if request.min_roas is not None:
        constraints["min_roas"] = request.min_roas
    if request.max_cpa is not None:
        constraints["max_cpa"] = str(request.max_cpa)
    cells = [{key: value for key, value in cell.items() if key != "show" and value is not None}
             for cell in inputs.cells]
    return {"objective": request.objective, "levels": list(LEVELS), "cells": cells, "constraints": constraints}


def _resolve(node: NodeRef, paths: list[tuple[str, ...]], name: str) -> tuple[str, ...]:
    if node.path:
        if not any(p[: len(node.path)] == node.path for p in paths):
            raise PlanBuildError("unknown_node", f"{name}: no cell lies under {'/'.join(node.path)}.", {"field": name})
        return node.path
    matches = {p[:3] if node.placement else p[:2] for p in paths
               if p[1] == node.network and (not node.placement or p[2] == node.placement)}
    if not matches:
        raise PlanBuildError("unknown_node", f"{name}: no cell for {node.describe()} in this plan's scope.",
                             {"field": name})
    if len(matches) > 1:
        raise PlanBuildError("ambiguous_node", f"{name}: {node.describe()} spans channels "
                             f"{sorted(m[0] for m in matches)}; give a path instead.", {"field": name})
    return next(iter(matches))


def plan_build(plan: Plan, *, progress: Callable[[float, str], None] | None = None,
               today: dt.date | None = None) -> Plan:
    """Fill a queued plan in place and save it (ready, or failed with the reason)."""
    from campaigns.plans.monitoring import monitoring_plan, rationale

    report = progress or (lambda *_: None)
    try:
        request = plan_request_from_dict(plan.request)
        report(0.1, "fitting response curves")
        inputs = plan_inputs(request, today=today)
        report(0.6, "allocating")
        problem = problem_from_dict(plan_problem(request, inputs))
        if request.explore:
            allocation = thompson_allocation(problem, rng=request.seed)
        else:
            allocation = allocate(problem, engine="fast")
    except ProblemError as exc:
        _fail(plan, "invalid_plan", exc.message, {"field": exc.field})
        raise PlanBuildError("invalid_plan", exc.message, {"field": exc.field}) from exc
    except Infeasible as exc:
        error = exc.as_error()
        _fail(plan, error["code"], error["message"], error["details"])
        raise PlanBuildError(error["code"], error["message"], error["details"]) from exc
    except PlanBuildError as exc:
        _fail(plan, exc.code, exc.message, exc.details)
        raise
    result = allocation.to_dict()
    report(0.9, "writing the monitoring plan")
    plan.history_from, plan.history_to = inputs.history_from, inputs.history_to
    plan.flight_start, plan.flight_end = inputs.flight_start, inputs.flight_end
    plan.objective, plan.budget = request.objective, request.budget
    plan.cells = inputs.cells
    plan.allocation = result
    plan.assumptions = inputs.assumptions
    plan.monitoring = monitoring_plan(request, inputs, allocation)
    plan.rationale = rationale(request, inputs, allocation)
    totals = allocation.totals
    plan.expected_spend = totals.spend
    plan.expected_incremental_revenue = totals.incremental_revenue.quantize(CENT)
    plan.expected_incremental_margin = totals.incremental_margin.quantize(CENT)
    plan.status, plan.error = PlanStatus.READY, None
    plan.save()
    return plan


def _fail(plan: Plan, code: str, message: str, details: dict) -> None:
    plan.status = PlanStatus.FAILED
    plan.error = {"code": code, "message": message, "details": details}
    plan.save(update_fields=["status", "error", "updated_at"])
