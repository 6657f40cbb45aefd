"""Audience holdout experiments: the design request (`POST /api/v1/experiments` with "kind": "holdout") and the
readout of a stored one, from aggregates only.

    {"kind": "holdout", "name": "Lapsed cereal buyers at MegaMart", "retailer": "megamart",
     "segment": "lapsed cereal buyers",
     "audience": {"users": 200000, "converters": 3100, "days": 28, "revenue": 41000},   # the segment before the test
     "holdout_share": 0.1,            # or "lift": 0.08 for the smallest share that detects it
     "test_days": 28, "start_date": "2026-12-07", "power": 0.8, "alpha": 0.05, "min_group": 50}

    readout: {"outcome": {"exposed_users": 180000, "exposed_converters": 3010, "holdout_users": 20000,
              "holdout_converters": 301, "exposed_revenue": 40100, "holdout_revenue": 3900, "noise_sd": 0},
              "spend": "9000", "network": "criteo", "attributed_sales": "52000"}

The numbers come from the request (`StatedAudience`) until the retailer's clean room is connected; it will answer
the same `AudienceSource` queries with k-anonymous, noised aggregates, and nothing here changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from campaigns.measure.holdout import AudienceSource, StatedAudience, holdout_design, holdout_readout
from campaigns.measure.models import Experiment
from campaigns.measure.requests import MeasureRequestError, _number, _whole

DEFAULT_MIN_GROUP = 50
ANY_BASELINE = {"users": 1, "converters": 0, "days": 1}  # a valid baseline, to check an outcome on its own


def holdout_experiment_design(data: dict, start: dt.date | None) -> dict:
    """Validate a holdout request and design it: the Experiment fields (dates, design, schedule)."""
    retailer = data.get("retailer")
    if not isinstance(retailer, str) or not retailer.strip():
        raise MeasureRequestError("retailer", "name the retailer whose audience segment is tested")
    segment = data.get("segment")
    if not isinstance(segment, str) or not segment.strip():
        raise MeasureRequestError("segment", "name the audience segment the campaign targets")
    source = _source(segment, data.get("audience"), field="audience")
    test_days = _whole(data, "test_days")
    alpha = _number(data, "alpha", 0.05, low=0.0, high=1.0, open_low=True, open_high=True)
    target = _number(data, "power", 0.8, low=alpha, high=1.0, open_low=True, open_high=True)
    share = _number(data, "holdout_share", None, low=0.0, high=0.5, open_low=True, required=False)
    lift = _number(data, "lift", None, low=-1.0, open_low=True, required=False)
    min_group = _whole(data, "min_group", required=False) or DEFAULT_MIN_GROUP
    try:
        design = holdout_design(source.baseline(segment, days=test_days), holdout_share=share, lift=lift,
                                test_days=test_days, power=target, alpha=alpha, min_group=min_group)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        field = {"baseline": "audience"}.get(field, field) if message else "design"
        raise MeasureRequestError(field, message or str(exc), status=422 if field == "lift" else 400) from exc
    start = start or timezone.localdate() + dt.timedelta(days=1)
    end = start + dt.timedelta(days=test_days - 1)
    stated = data["audience"]
    schedule = [
        {"date": start.isoformat(), "action": "start",
         "detail": f"hold out {design.holdout_share:.0%} of {segment!r} ({design.holdout_users:,} users, picked at "
                   f"random by the retailer) from every campaign targeting it at {retailer}; show the ads to the "
                   f"other {design.exposed_users:,}"},
        {"date": end.isoformat(), "action": "end", "detail": "last day of the test; release the holdout"},
        {"date": (end + dt.timedelta(days=1)).isoformat(), "action": "readout",
         "detail": "ask the retailer's clean room (or state) each group's users, converters and revenue, then "
                   "read out"}]
    return {"retailer": retailer, "metric": "conversions", "start_date": start, "end_date": end,
            "pre_from": start - dt.timedelta(days=int(stated["days"])), "pre_to": start - dt.timedelta(days=1),
            "design": {"segment": segment, "audience": stated, "min_group": min_group, "alpha": alpha,
                       **dataclasses.asdict(design)},
            "schedule": schedule, "name": f"{retailer} {segment} holdout from {start}"}


def holdout_read_out(experiment: Experiment, params: dict) -> dict:
    """The readout of a stored holdout from the outcome aggregates in `params`."""
    segment, design = experiment.design["segment"], experiment.design
    stated = {**design["audience"], "outcome": {"min_group": design.get("min_group", DEFAULT_MIN_GROUP),
                                                **params["outcome"]}}
    source = _source(segment, stated, field="outcome")
    try:
        outcome = source.outcome(segment, start=experiment.start_date, end=experiment.end_date)
        spend = Decimal(params["spend"]) if params.get("spend") else None
        result = holdout_readout(outcome, alpha=design.get("alpha", 0.05), spend=spend)
    except ValueError as exc:
        message = str(exc).partition(": ")[2] or str(exc)
        raise MeasureRequestError("outcome", message, status=422) from exc
    low, high = result.lift_interval
    cell = {"lift": result.lift, "interval": [low, high], "p_value": result.p_value,
            "exposed_rate": result.exposed_rate, "holdout_rate": result.holdout_rate,
            "incremental_conversions": result.incremental_conversions,
            "incremental_conversions_interval": list(result.incremental_conversions_interval),
            "incremental_sales": result.incremental_revenue or 0.0,
            "incremental_sales_interval": list(result.incremental_revenue_interval or []),
            "significant": not (low <= 0 <= high), "days_read": (experiment.end_date - experiment.start_date).days + 1}
    out: dict[str, Any] = {"cell": cell, "verdict": result.verdict, "noise_sd": result.noise_sd}
    if result.iroas is not None:
        out.update(iroas=result.iroas, iroas_interval=list(result.iroas_interval))
    return out


def outcome_params(data: dict) -> dict:
    """Check the readout's outcome aggregates have the right shape before a job is queued."""
    outcome = data.get("outcome")
    if not isinstance(outcome, dict):
        raise MeasureRequestError("outcome", "state each group's users and converters (and revenue): "
                                             "exposed_users, exposed_converters, holdout_users, holdout_converters")
    # The counts themselves too, so a bad one is named now rather than failing the job; k-anonymity is the readout's.
    _source("outcome", {**ANY_BASELINE, "outcome": outcome}, field="outcome")
    return outcome


def _source(segment: str, numbers: Any, *, field: str) -> AudienceSource:
    try:
        return StatedAudience({segment: numbers})
    except ValueError as exc:
        message = str(exc)
        # StatedAudience names the path (stated['segment'].outcome.users: ...); keep the part after the segment.
        detail = message.split("].", 1)[-1] if "]." in message else message.partition(": ")[2] or message
        raise MeasureRequestError(field, detail) from exc
