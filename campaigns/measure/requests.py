"""`POST /api/v1/experiments/power` — the `design_experiment` tool's power question, answered synchronously.

    {"kind": "proportion", "alpha": 0.05, "power": 0.8,
     "baseline": 0.03, "lift": 0.1, "n_per_arm": 20000, "ratio": 1}          # give lift and/or n_per_arm
    {"kind": "mean", "mean": 42.0, "sd": 30.0, "lift": 0.05, "n_per_arm": 800}
    {"kind": "geo", "retailer": "walmart", "metric": "revenue", "treated": ["US-W", "US-NW"], "pre_days": 84,
     "test_days": 28, "lift": 0.05, "mde": 0.03, "budget": "20000", "iroas": 1.5, "gtins": [...]}
    {"kind": "switchback", "retailer": "walmart", "block_days": 3, "washout_days": 1, "test_days": 42, "lift": 0.05}
    {"kind": "holdout", "audience": {"users": 200000, "converters": 3100, "days": 28}, "holdout_share": 0.1,
     "lift": 0.1, "test_days": 28}

Proportions and means: with a lift and n, the power; with a lift only, the sample size per arm; with n only, the
MDE; always a power curve. Geo: the tenant's own regional sales before the last day with data are the pre-period;
with test_days, the MDE (and the power at `lift`); with `mde`, the shortest test that reaches it (422 when none up
to 180 days does); with a budget and iROAS, the MDE per duration and whether the budget can buy it; always the MDE
per duration. Switchback: from the retailer's daily sales, the MDE of a test_days test (and the power at `lift`),
or the duration a lift needs; always the MDE per duration. Holdout: from the stated audience, the power and MDE of
a holdout share, or the smallest share that detects `lift`. Bad input is a MeasureRequestError naming the field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from campaigns.measure import power as power_math
from campaigns.measure.history import METRICS, RegionalSales, known_retailers, regional_sales, sales_span

KINDS = ("proportion", "mean", "geo", "switchback", "holdout")
CURVE_LIFTS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)
CURVE_DAYS = tuple(range(7, 91, 7))
MAX_DAYS = 180
DEFAULT_PRE_DAYS = 84


class MeasureRequestError(ValueError):
    def __init__(self, field: str, message: str, *, status: int = 400, code: str = "invalid_request",
                 details: dict | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status, self.code = field, message, status, code
        self.details = {"field": field, **(details or {})}


def power_answer(data: Any) -> dict:
    if not isinstance(data, dict):
        raise MeasureRequestError("request", "must be a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise MeasureRequestError("kind", f"must be one of {', '.join(KINDS)}")
    alpha = _number(data, "alpha", 0.05, low=0.0, high=1.0, open_low=True, open_high=True)
    target = _number(data, "power", 0.8, low=alpha, high=1.0, open_low=True, open_high=True)
    try:
        if kind == "geo":
            return _geo(data, alpha, target)
        if kind == "switchback":
            return _switchback(data, alpha, target)
        if kind == "holdout":
            return _holdout(data, alpha, target)
        return _two_sample(kind, data, alpha, target)
    except ValueError as exc:
        if isinstance(exc, MeasureRequestError):
            raise
        # The math names the argument first ("pre: needs at least 21 days ..."): keep it as the field.
        field, _, message = str(exc).partition(": ")
        raise MeasureRequestError(field if message else kind, message or str(exc)) from exc


def _two_sample(kind: str, data: dict, alpha: float, target: float) -> dict:
    if kind == "proportion":
        params = {"baseline": _number(data, "baseline", None, low=0.0, high=1.0, open_low=True, open_high=True)}
        power_of, size_of, mde_of = (power_math.proportion_power, power_math.proportion_sample_size,
                                     power_math.proportion_mde)
    else:
        params = {"mean": _number(data, "mean", None), "sd": _number(data, "sd", None, low=0.0, open_low=True)}
        power_of, size_of, mde_of = power_math.mean_power, power_math.mean_sample_size, power_math.mean_mde
    params["ratio"] = _number(data, "ratio", 1.0, low=0.0, open_low=True)
    lift = _number(data, "lift", None, low=-1.0, open_low=True, required=False)
    n = _whole(data, "n_per_arm", required=False)
    if lift is None and n is None:
        raise MeasureRequestError("lift", "give a lift, an n_per_arm, or both")
    answer: dict[str, Any] = {"kind": kind, "alpha": alpha, "power_target": target}
    if lift is not None and n is not None:
        answer["power"] = power_of(lift=lift, n_per_arm=n, alpha=alpha, **params)
    if lift is not None:
        answer["n_per_arm"] = size_of(lift=lift, power=target, alpha=alpha, **params)
    if n is not None:
        answer["mde"] = mde_of(n_per_arm=n, power=target, alpha=alpha, **params)
    curve_n = n if n is not None else answer["n_per_arm"]
    answer["power_curve"] = [{"lift": lift_, "power": p} for lift_, p in power_math.power_curve(
        kind, lifts=CURVE_LIFTS, n_per_arm=curve_n, alpha=alpha, **params)]
    return answer


def _geo(data: dict, alpha: float, target: float) -> dict:
    from campaigns.measure import geo

    retailer, metric, sales = pre_period(data)
    treated_names = _strings(data, "treated")
    if not treated_names:
        raise MeasureRequestError("treated", "name the regions to treat")
    unknown = [name for name in treated_names if name not in sales.regions]
    if unknown:
        raise MeasureRequestError("treated", f"unknown region {unknown[0]!r}", details={"regions": sales.regions})
    treated = [sales.regions.index(name) for name in treated_names]
    common = {"treated": treated, "alpha": alpha}
    answer: dict[str, Any] = {
        "kind": "geo", "alpha": alpha, "power_target": target, "retailer": retailer, "metric": metric,
        "pre_period": {"from": sales.dates[0].isoformat(), "to": sales.dates[-1].isoformat()},
        "regions": sales.regions, "treated": treated_names,
    }
    test_days = _whole(data, "test_days", required=False)
    if test_days is not None:
        answer["mde"] = geo.geo_mde(sales.values, test_days=test_days, power=target, **common)
        lift = _number(data, "lift", None, low=-1.0, open_low=True, required=False)
        if lift is not None:
            result = geo.geo_power(sales.values, lift=lift, test_days=test_days, **common)
            answer["power"] = result.power
            answer["expected_incremental_sales"] = result.expected_incremental_sales
            answer["treated_share"] = result.treated_share
    mde = _number(data, "mde", None, low=0.0, open_low=True, required=False)
    if mde is not None:
        days = geo.geo_duration(sales.values, mde=mde, power=target, max_days=MAX_DAYS, **common)
        if days is None:
            best = geo.geo_mde(sales.values, test_days=MAX_DAYS, power=target, **common)
            raise MeasureRequestError("mde", f"an MDE of {mde:.1%} is out of reach: {MAX_DAYS} days detect "
                                             f"{best:.1%} at best", status=422, code="unreachable_mde",
                                      details={"best_mde": best, "max_days": MAX_DAYS})
        answer["duration_days"] = days
    budget = _money(data, "budget")
    if budget is not None:
        iroas = _number(data, "iroas", None, low=0.0, open_low=True)
        answer["budget"] = [{"days": d, "mde": m, "reachable": ok} for d, m, ok in geo.geo_mde_for_budget(
            sales.values, budget=float(budget), iroas=iroas, power=target, max_days=MAX_DAYS, **common)]
    answer["duration_curve"] = [{"days": d, "mde": m} for d, m in geo.duration_curve(
        sales.values, days=CURVE_DAYS, power=target, **common)]
    return answer


def _switchback(data: dict, alpha: float, target: float) -> dict:
    from campaigns.measure import switchback as sb
    from campaigns.measure.switchback_experiments import DEFAULT_PRE_DAYS, switchback_blocks

    retailer, metric, sales = pre_period({"pre_days": DEFAULT_PRE_DAYS, **data})
    daily = sales.values.sum(axis=0)
    block_days, washout = switchback_blocks(data)
    common = {"block_days": block_days, "washout_days": washout, "alpha": alpha}
    answer: dict[str, Any] = {
        "kind": "switchback", "alpha": alpha, "power_target": target, "retailer": retailer, "metric": metric,
        "pre_period": {"from": sales.dates[0].isoformat(), "to": sales.dates[-1].isoformat()},
        "block_days": block_days, "washout_days": washout,
    }
    lift = _number(data, "lift", None, low=-1.0, open_low=True, required=False)
    test_days = _whole(data, "test_days", required=False)
    if test_days is None and lift is None:
        raise MeasureRequestError("test_days", "give a test_days (for the MDE), a lift (for the duration), or both")
    if test_days is not None:
        answer["mde"] = sb.switchback_mde(daily, test_days=test_days, power=target, **common)
        if lift is not None:
            answer["power"] = sb.switchback_power(daily, test_days=test_days, lift=lift, **common).power
    elif lift is not None:
        answer["duration_days"] = sb.switchback_duration(daily, lift=lift, power=target, max_days=MAX_DAYS, **common)
    days = [block_days * n for n in (4, 6, 8, 12, 16, 24, 32) if block_days * n <= MAX_DAYS]
    answer["duration_curve"] = [{"days": d, "mde": sb.switchback_mde(daily, test_days=d, power=target, **common)}
                                for d in days]
    return answer


def _holdout(data: dict, alpha: float, target: float) -> dict:
    import dataclasses

    from campaigns.measure.holdout import AudienceBaseline, holdout_design

    audience = data.get("audience")
    if not isinstance(audience, dict):
        raise MeasureRequestError("audience", "state the segment's users, converters and days (and revenue)")
    try:
        baseline = AudienceBaseline(**audience)
    except (TypeError, ValueError) as exc:
        raise MeasureRequestError("audience", str(exc)) from exc
    design = holdout_design(
        baseline, holdout_share=_number(data, "holdout_share", None, low=0.0, high=0.5, open_low=True, required=False),
        lift=_number(data, "lift", None, low=-1.0, open_low=True, required=False), test_days=_whole(data, "test_days"),
        power=target, alpha=alpha, min_group=_whole(data, "min_group", required=False) or 50)
    return {"kind": "holdout", "alpha": alpha, "power_target": target, **dataclasses.asdict(design)}


def pre_period(data: dict) -> tuple[str, str, RegionalSales]:
    """The retailer and metric a geo question is about, and its pre-period: the retailer's last `pre_days` days of
    regional sales (fewer when the history is shorter; the math then says how many it needs)."""
    retailer = data.get("retailer")
    if retailer not in known_retailers():
        raise MeasureRequestError("retailer", f"no sales data for retailer {retailer!r}",
                                  details={"known": known_retailers()})
    metric = data.get("metric", "revenue")
    if metric not in METRICS:
        raise MeasureRequestError("metric", f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    pre_days = _whole(data, "pre_days", required=False) or DEFAULT_PRE_DAYS
    first, end = sales_span(retailer)
    start = max(first, end - dt.timedelta(days=pre_days - 1))
    sales = regional_sales(retailer=retailer, metric=metric, date_from=start, date_to=end,
                           gtins=_strings(data, "gtins") or None)
    return retailer, metric, sales


def _number(data: dict, name: str, default: float | None, *, low: float | None = None, high: float | None = None,
            open_low: bool = False, open_high: bool = False, required: bool = True) -> float | None:
    value = data.get(name, default)
    if value is None:
        if required and default is None:
            raise MeasureRequestError(name, "is required")
        return None
    if isinstance(value, bool):
        raise MeasureRequestError(name, "must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MeasureRequestError(name, "must be a number") from None
    below = low is not None and (number <= low if open_low else number < low)
    above = high is not None and (number >= high if open_high else number > high)
    if number != number or below or above:
        raise MeasureRequestError(name, f"must be {'above' if open_low else 'at least'} {low}"
                                        + (f" and {'below' if open_high else 'at most'} {high}" if high is not None
                                           else ""))
    return number


def _whole(data: dict, name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise MeasureRequestError(name, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MeasureRequestError(name, "must be a whole number of at least 1")
    return value


def _strings(data: dict, name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise MeasureRequestError(name, "must be a list of names")
    return value


def _money(data: dict, name: str) -> Decimal | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal(-1)
    if isinstance(value, bool) or not amount.is_finite() or amount <= 0:
        raise MeasureRequestError(name, "must be a positive amount of money")
    return amount
