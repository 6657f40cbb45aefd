"""Switchback experiments on the tenant's data: the design request (`POST /api/v1/experiments` with
"kind": "switchback") and the readout of a stored one.

    {"kind": "switchback", "name": "Walmart sponsored search on/off", "retailer": "walmart", "metric": "revenue",
     "network": "walmart", "placement": "", "block_days": 3, "washout_days": 1, "test_days": 42,   # or "lift"
     "start_date": "2026-12-07", "pre_days": 182, "lift": 0.05, "power": 0.8, "alpha": 0.05, "seed": 12}

The metric is the brand's daily sales at the retailer, all regions together (the ads go on and off everywhere);
the pre-period is its last `pre_days` of them. With `lift` and no `test_days`, the test lasts as long as that lift
needs. The readout compares ON and OFF blocks (washout days dropped) and, when the network attributed sales on
the analysed ON days, calibrates that network's incrementality factor.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict
from typing import Any

import numpy as np
from django.db import connection

from campaigns.measure import switchback as sb
from campaigns.measure.history import regional_sales
from campaigns.measure.models import Experiment
from campaigns.measure.requests import MeasureRequestError, _number, _whole, pre_period
from campaigns.plans.history import known_networks

DEFAULT_PRE_DAYS = 182
DEFAULT_BLOCK_DAYS = 3
DEFAULT_WASHOUT_DAYS = 1
MAX_TEST_DAYS = 182


def switchback_design(data: dict, start: dt.date | None) -> dict:
    """Validate a switchback request and design it: the Experiment fields (dates, pre-period, design, schedule)."""
    network = data.get("network")
    if network not in known_networks():
        raise MeasureRequestError("network", f"no ads data for network {network!r}",
                                  details={"known": known_networks()})
    placement = data.get("placement") or ""
    if not isinstance(placement, str):
        raise MeasureRequestError("placement", "must be a placement name")
    retailer, metric, sales = pre_period({"pre_days": DEFAULT_PRE_DAYS, **data})
    daily = sales.values.sum(axis=0)
    block_days, washout = switchback_blocks(data)
    alpha = _number(data, "alpha", 0.05, low=0.0, high=1.0, open_low=True, open_high=True)
    target = _number(data, "power", 0.8, low=alpha, high=1.0, open_low=True, open_high=True)
    lift = _number(data, "lift", None, low=-1.0, open_low=True, required=False)
    test_days = _whole(data, "test_days", required=lift is None)
    seed = data.get("seed")
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise MeasureRequestError("seed", "must be a whole number of at least 0")
    common = {"block_days": block_days, "washout_days": washout}
    try:
        if test_days is None:
            test_days = sb.switchback_duration(daily, lift=lift, power=target, alpha=alpha, max_days=MAX_TEST_DAYS,
                                               **common)
        powered = sb.switchback_power(daily, test_days=test_days, lift=lift or 0.05, alpha=alpha, **common)
        mde = sb.switchback_mde(daily, test_days=test_days, power=target, alpha=alpha, **common)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        field = {"pre": "pre_days"}.get(field, field) if message else "design"
        raise MeasureRequestError(field, message or str(exc), status=422 if field == "lift" else 400) from exc
    last = sales.dates[-1]
    start = start or last + dt.timedelta(days=1)
    if start <= last:
        raise MeasureRequestError("start_date", f"must be after the last day with sales data ({last}): the "
                                                "pre-period has to end before the test starts")
    blocks = sb.switchback_schedule(start, test_days, block_days, washout, seed)
    design = {"network": network, "placement": placement, "block_days": block_days, "washout_days": washout,
              "seed": seed, "mde": mde, "power": target, "alpha": alpha,
              **{key: value for key, value in asdict(powered).items() if key not in ("mde", "power")}}
    if lift is not None:
        design.update(lift=lift, power_at_lift=powered.power)
    what = f"{network}{f' / {placement}' if placement else ''} ads"
    schedule = [{"date": b.start.isoformat(), "action": "on" if b.on else "off", "until": b.end.isoformat(),
                 "analysed_from": b.analysed_from.isoformat(),
                 "detail": f"{'run' if b.on else 'pause'} {what} at {retailer} in every region"} for b in blocks]
    end = blocks[-1].end
    schedule.append({"date": (end + dt.timedelta(days=1)).isoformat(), "action": "readout",
                     "detail": "back to normal; load the test period's sales, then ask for the readout"})
    return {"retailer": retailer, "metric": metric, "start_date": start, "end_date": end,
            "pre_from": sales.dates[0], "pre_to": last, "design": design, "schedule": schedule,
            "name": f"{retailer} {what} switchback from {start}"}


def switchback_blocks(data: dict) -> tuple[int, int]:
    """The request's block length and washout (defaults: 3-day blocks, the first day of each washed out)."""
    block_days = _whole(data, "block_days", required=False) or DEFAULT_BLOCK_DAYS
    washout = data.get("washout_days", DEFAULT_WASHOUT_DAYS)
    if isinstance(washout, bool) or not isinstance(washout, int) or not 0 <= washout < block_days:
        raise MeasureRequestError("washout_days", f"must be a whole number of days from 0 to {block_days - 1} "
                                                  "(less than block_days)")
    return block_days, washout


def switchback_read_out(experiment: Experiment, days_loaded: int) -> dict:
    """Block-level readout of a stored switchback over the days loaded so far."""
    blocks = [sb.Block(start=dt.date.fromisoformat(s["date"]), end=dt.date.fromisoformat(s["until"]),
                       on=s["action"] == "on", analysed_from=dt.date.fromisoformat(s["analysed_from"]))
              for s in experiment.schedule if s["action"] in ("on", "off")]
    end = experiment.start_date + dt.timedelta(days=days_loaded - 1)
    sales = regional_sales(retailer=experiment.retailer, metric=experiment.metric, date_from=experiment.start_date,
                           date_to=end)
    read = [b for b in blocks if b.end <= end]  # whole blocks only
    on, analysed, block_id = sb.schedule_days(read, sales.dates)
    try:
        result = sb.switchback_readout(sales.values.sum(axis=0), on, analysed, block_id,
                                       seed=int(experiment.design.get("seed", 0)))
    except ValueError as exc:
        raise MeasureRequestError("experiment", f"the loaded days cannot be read out yet: {exc}", status=409,
                                  code="no_test_data") from exc
    daily = sales.values.sum(axis=0)
    on_days = [d for d, is_on, kept in zip(sales.dates, on, analysed, strict=True) if is_on and kept]
    cell = {"lift": result.lift, "interval": [result.low, result.high], "p_value": result.p_value,
            "incremental_sales": result.incremental_sales, "days_read": int(result.days_analysed),
            "treated_sales": float(daily[on & analysed].sum()),
            "blocks_on": result.n_on, "blocks_off": result.n_off, "mean_on": result.mean_on,
            "mean_off": result.mean_off, "significant": not (result.low <= 0 <= result.high),
            "blocks": [{"start": b.start.isoformat(), "on": b.on,
                        "mean": _block_mean(daily, sales.dates, b)} for b in read]}
    return {"cell": cell, "on_days": on_days}


def attributed_on(network: str, placement: str, days: list[dt.date]) -> float:
    """What the network attributed to its ads on the given days (the analysed ON days)."""
    if not days:
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(attributed_sales), 0)::float8 FROM campaigns_rmisevent WHERE network = %s "  # noqa: S608 - fixed clauses
            "AND date = ANY(%s)" + (" AND placement = %s" if placement else ""),
            [network, days] + ([placement] if placement else []))
        return float(cursor.fetchone()[0])


def _block_mean(daily: np.ndarray, dates: list[dt.date], block: sb.Block) -> float:
    kept = [v for d, v in zip(dates, daily, strict=True) if block.analysed_from <= d <= block.end]
    return float(np.mean(kept)) if kept else 0.0


def params_for(design: dict, data: dict[str, Any]) -> dict:
    """Readout parameters default to the network the switchback turned on and off."""
    return {**data, "network": data.get("network") or design.get("network", ""),
            "placement": data.get("placement") or design.get("placement", "")}
