"""The daily follow-up (beat): refit every cell's curve from the latest RMIS data (the posterior update that the
next plan, and Thompson sampling, draw from), and record each ready plan's elapsed flight days as outcomes —
realized spend and sales vs what the plan expected, and the regret (expected − realized incremental margin)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from campaigns.optimize.curves import Curve
from campaigns.plans.curves import refresh_curves
from campaigns.plans.history import cell_days, data_range
from campaigns.plans.incrementality import Factors
from campaigns.plans.models import Plan, PlanOutcome, PlanStatus
from campaigns.plans.request import DEFAULT_HISTORY_DAYS

CENT = Decimal("0.01")


def plan_follow_up() -> dict:
    span = data_range()
    if span is None:
        return {"curves": 0, "outcomes": 0}
    history_from = max(span[0], span[1] - dt.timedelta(days=DEFAULT_HISTORY_DAYS - 1))
    curves, _ = refresh_curves(history_from=history_from, history_to=span[1], networks=None, factors=Factors())
    outcomes = 0
    for plan in Plan.objects.filter(status=PlanStatus.READY, flight_start__lte=span[1]):
        outcomes += plan_outcomes_record(plan, last_day=span[1])
    return {"curves": len(curves), "outcomes": outcomes}


def plan_outcomes_record(plan: Plan, *, last_day: dt.date) -> int:
    """Write (or rewrite: data may be restated) one outcome per flight day that has data; returns how many."""
    end = min(plan.flight_end, last_day)
    if end < plan.flight_start:
        return 0
    days = plan.flight_days
    cells = {c["id"]: c for c in plan.cells}
    planned = {c["id"]: Decimal(c["spend"]) for c in (plan.allocation or {}).get("cells", [])}
    actual = cell_days(date_from=plan.flight_start, date_to=end,
                       networks=sorted({c["path"][1] for c in plan.cells}))
    by_day: dict[dt.date, list[tuple[str, float, float]]] = {}
    for cell_id, date, spend, sales in actual.select("cell", "date", "spend", "sales").iter_rows():
        by_day.setdefault(date, []).append((cell_id, spend, sales))
    rows = []
    expected_margin = sum(
        (_margin(cell, float(planned.get(cell_id, 0)) / days) for cell_id, cell in cells.items()), 0.0)
    planned_daily = sum(planned.values(), Decimal(0)) / days
    for date, entries in sorted(by_day.items()):
        spend = incremental = attributed = expected_sales = margin = 0.0
        for cell_id, cell_spend, cell_sales in entries:
            cell = cells.get(cell_id)
            spend += cell_spend
            attributed += cell_sales
            if cell is None:
                margin -= cell_spend  # spend outside the plan's cells earns nothing the plan can vouch for
                continue
            realized = cell_sales * cell["incrementality"]
            incremental += realized
            expected_sales += _daily(cell).value(cell_spend)
            margin += cell["margin_rate"] * realized - cell_spend
        expected, realized = _money(expected_margin), _money(margin)
        rows.append(PlanOutcome(
            plan=plan, date=date, planned_spend=_money(planned_daily), actual_spend=_money(spend),
            expected_incremental_sales=_money(expected_sales), actual_attributed_sales=_money(attributed),
            actual_incremental_sales=_money(incremental), expected_incremental_margin=expected,
            actual_incremental_margin=realized, regret=expected - realized,
        ))
    with transaction.atomic():
        PlanOutcome.objects.filter(plan=plan, date__in=[r.date for r in rows]).delete()
        PlanOutcome.objects.bulk_create(rows)
    return len(rows)


def _daily(cell: dict) -> Curve:
    curve = cell["show"]["daily_curve"]
    return Curve(curve["form"], curve["vmax"], curve["h"], curve["k"])


def _margin(cell: dict, daily_spend: float) -> float:
    return cell["margin_rate"] * _daily(cell).value(daily_spend) - daily_spend


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)
