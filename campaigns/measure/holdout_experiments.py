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

from campaigns.measure.holdout import (
    AudienceBaseline,
    AudienceSource,
    HoldoutOutcome,
    StatedAudience,
    holdout_design,
    holdout_readout,
)
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
    test_days = _whole(data, "test_days")
    if "clean_room" in data:  # the retailer's clean room counts the segment, under the brand's lease
        source = _clean_room_source(data["clean_room"], actor="experiment design")
    else:
        source = _source(segment, data.get("audience"), field="audience")
    alpha = _number(data, "alpha", 0.05, low=0.0, high=1.0, open_low=True, open_high=True)
    target = _number(data, "power", 0.8, low=alpha, high=1.0, open_low=True, open_high=True)
    share = _number(data, "holdout_share", None, low=0.0, high=0.5, open_low=True, required=False)
    lift = _number(data, "lift", None, low=-1.0, open_low=True, required=False)
    min_group = _whole(data, "min_group", required=False) or DEFAULT_MIN_GROUP
    try:
        baseline = source.baseline(segment, days=test_days)
        design = holdout_design(baseline, holdout_share=share, lift=lift, test_days=test_days, power=target,
                                alpha=alpha, min_group=min_group)
    except MeasureRequestError:
        raise
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        field = {"baseline": "audience", "outcome": "clean_room", "gtins": "clean_room",
                 "campaign_id": "clean_room"}.get(field, field) if message else "design"
        raise MeasureRequestError(field, message or str(exc), status=422 if field == "lift" else 400) from exc
    start = start or timezone.localdate() + dt.timedelta(days=1)
    end = start + dt.timedelta(days=test_days - 1)
    stated = {key: value for key, value in dataclasses.asdict(baseline).items() if value is not None}
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
    """The readout of a stored holdout: from the outcome aggregates in `params`, or counted in the retailer's
    clean room under the lease `params["clean_room"]` names."""
    segment, design = experiment.design["segment"], experiment.design
    min_group = design.get("min_group", DEFAULT_MIN_GROUP)
    if "clean_room" in params:
        source = _clean_room_source(params["clean_room"], actor=f"experiment {experiment.pk} readout",
                                    min_group=min_group)
    else:
        source = _source(segment, {**design["audience"], "outcome": {"min_group": min_group, **params["outcome"]}},
                         field="outcome")
    try:
        outcome = source.outcome(segment, start=experiment.start_date, end=experiment.end_date)
        spend = Decimal(params["spend"]) if params.get("spend") else None
        result = holdout_readout(outcome, alpha=design.get("alpha", 0.05), spend=spend)
    except MeasureRequestError:
        raise
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
            "significant": not (low <= 0 <= high), "days_read": (experiment.end_date - experiment.start_date).days + 1,
            "source": "clean room" if "clean_room" in params else "stated"}
    out: dict[str, Any] = {"cell": cell, "verdict": result.verdict, "noise_sd": result.noise_sd}
    if result.iroas is not None:
        out.update(iroas=result.iroas, iroas_interval=list(result.iroas_interval))
    return out


def holdout_readout_params(data: dict) -> dict:
    """Check a holdout readout request before a job is queued: stated outcome aggregates, or a clean room."""
    if "clean_room" in data:
        return {"clean_room": _clean_room_spec(data["clean_room"])}
    outcome = data.get("outcome")
    if not isinstance(outcome, dict):
        raise MeasureRequestError("outcome", "state each group's users and converters (and revenue): "
                                             "exposed_users, exposed_converters, holdout_users, holdout_converters "
                                             "— or name the clean room to count them in (clean_room)")
    # The counts themselves too, so a bad one is named now rather than failing the job; k-anonymity is the readout's.
    _source("outcome", {**ANY_BASELINE, "outcome": outcome}, field="outcome")
    return {"outcome": outcome}


def _clean_room_spec(spec: Any) -> dict:
    """{"lease": <id of the brand's lease>, "campaign_id": "...", "gtins": ["..."]}, checked for shape."""
    if not isinstance(spec, dict) or isinstance(spec.get("lease"), bool) or not isinstance(spec.get("lease"), int):
        raise MeasureRequestError("clean_room", 'name the lease, the campaign and its products: {"lease": 3, '
                                                '"campaign_id": "MM-CEREAL-Q4", "gtins": ["00041235944905"]}')
    gtins = spec.get("gtins")
    if not isinstance(spec.get("campaign_id"), str) or not isinstance(gtins, list) or not gtins:
        raise MeasureRequestError("clean_room", "needs the campaign_id and the gtins a conversion buys")
    return {"lease": spec["lease"], "campaign_id": spec["campaign_id"], "gtins": [str(g) for g in gtins]}


def _clean_room_source(spec: Any, *, actor: str, min_group: int = DEFAULT_MIN_GROUP) -> AudienceSource:
    from django.db import connection

    from governance.cleanroom.audience import CleanRoomAudience
    from governance.cleanroom.services import CleanRoomError
    from tenants.models import Tenant

    spec = _clean_room_spec(spec)
    brand = Tenant.objects.get(schema_name=connection.schema_name)  # the tenant the request or job runs for
    try:
        return _Refusals(CleanRoomAudience(brand=brand, actor=actor, lease_id=spec["lease"],
                                           campaign_id=spec["campaign_id"], gtins=spec["gtins"],
                                           min_group=min_group), CleanRoomError)
    except ValueError as exc:
        raise MeasureRequestError("clean_room", str(exc).partition(": ")[2] or str(exc)) from exc


class _Refusals:
    """An audience source whose clean-room refusals (lease, budget, k) surface as the request's errors."""

    def __init__(self, source: AudienceSource, refusal: type[Exception]) -> None:
        self.source, self.refusal = source, refusal

    def _call(self, name: str, *args, **kwargs):
        try:
            return getattr(self.source, name)(*args, **kwargs)
        except self.refusal as exc:
            raise MeasureRequestError("clean_room", exc.message, status=exc.status, code=exc.code) from exc

    def segment_size(self, segment: str) -> int:
        return self._call("segment_size", segment)

    def baseline(self, segment: str, *, days: int) -> AudienceBaseline:
        return self._call("baseline", segment, days=days)

    def outcome(self, segment: str, *, start: dt.date, end: dt.date) -> HoldoutOutcome:
        return self._call("outcome", segment, start=start, end=end)


def _source(segment: str, numbers: Any, *, field: str) -> AudienceSource:
    try:
        return StatedAudience({segment: numbers})
    except ValueError as exc:
        message = str(exc)
        # StatedAudience names the path (stated['segment'].outcome.users: ...); keep the part after the segment.
        detail = message.split("].", 1)[-1] if "]." in message else message.partition(": ")[2] or message
        raise MeasureRequestError(field, detail) from exc
