"""What a plan tells the team to watch: daily pacing targets per network (with the expected incremental sales at
that pace, and the spend trend it replaces, forecast by ETS), the re-optimization cadence, the guardrails that
trigger a re-plan, and a rationale written from the plan's own numbers (deterministic: no LLM here)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import polars as pl

from campaigns.optimize import Allocation
from campaigns.optimize.curves import Curve
from campaigns.optimize.forecast import forecast_daily, pacing_targets, weekly_profile
from campaigns.plans.history import cell_days
from campaigns.plans.request import PlanRequest

PACING_TOLERANCE = 0.15
PACING_DAYS = 3
ROAS_GUARD = 0.8
TOP_MOVES = 3


def monitoring_plan(request: PlanRequest, inputs, allocation: Allocation) -> dict:
    by_network: dict[str, Decimal] = defaultdict(Decimal)
    for cell in allocation.cells:
        by_network[cell.path[1]] += cell.spend
    history = cell_days(date_from=inputs.history_from, date_to=inputs.history_to,
                        networks=sorted(by_network) or None)
    cells = {c["id"]: c for c in inputs.cells}
    pacing = {}
    for network, total in sorted(by_network.items()):
        own = history.filter(pl.col("network") == network).group_by("date").agg(pl.col("spend").sum()).sort("date")
        profile = weekly_profile(own.get_column("date").to_list(), own.get_column("spend").to_list()) \
            if own.height else None
        days = pacing_targets(float(total), start=inputs.flight_start, days=inputs.days, weekly_profile=profile)
        # What the network would spend with no change (the trend of its history), beside the target.
        gap = max((inputs.flight_start - inputs.history_to).days - 1, 0)
        trend = forecast_daily(own.get_column("spend").to_numpy(), horizon=gap + inputs.days).mean[gap:] \
            if own.height else [0.0] * inputs.days
        sales = _expected_sales(allocation, cells, network, [value for _, value in days], float(total))
        pacing[network] = {
            "total": str(total),
            "daily": [{"date": day.isoformat(), "spend": f"{value:.2f}", "trend_spend": f"{trend[i]:.2f}",
                       "expected_incremental_sales": f"{sales[i]:.2f}"} for i, (day, value) in enumerate(days)],
            "weekly": _weekly(days),
        }
    guardrails = [
        {"metric": "pacing", "rule": f"a network's spend is off its daily pacing target by more than "
                                     f"{PACING_TOLERANCE:.0%} for {PACING_DAYS} days running"},
        {"metric": "roas", "rule": f"a network's attributed ROAS over 7 days falls below {ROAS_GUARD:.0%} of what "
                                   "the plan expects at the spend it actually delivered"},
        {"metric": "stockout", "rule": f"a SKU's stock-out probability rises above "
                                       f"{request.stockout_threshold:.0%} (its spend then stops)"},
    ]
    if request.min_roas is not None:
        guardrails.append({"metric": "min_roas", "rule": f"{request.roas_basis} ROAS of the plan as a whole drops "
                                                         f"below the floor of {request.min_roas:g}"})
    return {
        "pacing": pacing,
        "cadence": "Re-optimize weekly (Mondays) with the refitted curves, and at once when a guardrail trips.",
        "guardrails": guardrails,
        "review_dates": [(inputs.flight_start + dt.timedelta(days=d)).isoformat()
                         for d in range(7, inputs.days, 7)],
    }


def _expected_sales(allocation: Allocation, cells: dict, network: str, daily: list[float], total: float) -> list[float]:
    """Each day's expected incremental sales of the network: every cell paced like the network, on its daily curve."""
    out = [0.0] * len(daily)
    if total <= 0:
        return out
    for plan in allocation.cells:
        if plan.path[1] != network or not plan.spend:
            continue
        curve = cells[plan.id]["show"]["daily_curve"]
        daily_curve = Curve(curve["form"], curve["vmax"], curve["h"], curve["k"])
        share = float(plan.spend) / total
        for i, spend in enumerate(daily):
            out[i] += daily_curve.value(spend * share)
    return out


def _weekly(days: list[tuple[dt.date, float]]) -> list[dict]:
    weeks: dict[dt.date, float] = defaultdict(float)
    for day, value in days:
        weeks[day - dt.timedelta(days=day.weekday())] += value
    return [{"week_of": week.isoformat(), "spend": f"{value:.2f}"} for week, value in sorted(weeks.items())]


def rationale(request: PlanRequest, inputs, allocation: Allocation) -> str:
    t = allocation.totals
    lines = [
        f"Flight {inputs.flight_start} to {inputs.flight_end} ({inputs.days} days), {request.objective} objective: "
        f"spend ${t.spend:,.2f} of the ${request.budget:,.2f} budget"
        + (f" (${t.reserve:,.2f} held back for experiments)" if t.reserve else "") + ".",
        f"Expected incremental revenue ${t.incremental_revenue:,.2f} and incremental margin "
        f"${t.incremental_margin:,.2f}" + _interval(allocation, "incremental_margin") + "; incremental ROAS "
        f"{_ratio(t.roas_incremental)}, attributed ROAS {_ratio(t.roas_attributed)}.",
        f"At the current run rate (${t.current_spend:,.2f} over the flight) the same curves expect incremental "
        f"margin ${t.current_incremental_margin:,.2f}; this plan changes that by "
        f"${t.incremental_margin - t.current_incremental_margin:+,.2f}.",
    ]
    moves = sorted(allocation.nodes, key=lambda n: abs(n.change), reverse=True)
    moves = [n for n in moves if len(n.path) == 3 and n.change][:TOP_MOVES]
    if moves:
        lines.append("Largest moves: " + "; ".join(
            f"{'/'.join(n.path[1:])} {'+' if n.change > 0 else '−'}${abs(n.change):,.2f} "
            f"(to ${n.spend:,.2f})" for n in moves) + ".")
    for binding in allocation.binding:
        lines.append(binding.message)
    out_of_stock = [c for c in allocation.cells if c.at == "out of stock"]
    if out_of_stock:
        lines.append(f"{len(out_of_stock)} cells get no spend because their SKU is likely to be out of stock "
                     f"during the flight (threshold {request.stockout_threshold:.0%}).")
    thin = sum(1 for c in inputs.cells if c["show"]["thin"])
    lines.append(f"Curves were fitted on {inputs.history_from} to {inputs.history_to} for {len(inputs.cells)} cells"
                 + (f"; {thin} have under 10 days of data and lean on their placement's pooled curve" if thin else "")
                 + ".")
    experiments = sorted({c["show"]["incrementality_source"] for c in inputs.cells
                          if c["show"]["incrementality_source"].startswith("experiment ")})
    for source in experiments:
        count = sum(1 for c in inputs.cells if c["show"]["incrementality_source"] == source)
        lines.append(f"Incrementality measured by {source} sets the factor of {count} cells.")
    lines.extend(inputs.assumptions)
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _interval(allocation: Allocation, key: str) -> str:
    interval = allocation.intervals.get(key)
    if interval is None:
        return ""
    return f" (90% credible interval ${Decimal(str(interval.low)):,.2f} to ${Decimal(str(interval.high)):,.2f})"
