"""Designing an experiment and storing it with its schedule: `POST /api/v1/experiments`.

    {"name": "Walmart west geo test", "kind": "geo", "retailer": "walmart", "metric": "revenue",
     "n_treated": 3, "cells": 1, "include": ["US-W"], "exclude": ["US-TX"], "test_days": 28,
     "start_date": "2026-12-07", "pre_days": 84, "lift": 0.05, "iroas": 1.5, "power": 0.8, "alpha": 0.05,
     "choose": 0}

The pre-period is the retailer's last `pre_days` of regional sales; the ranked candidate designs come from
`campaigns.measure.design.geo_designs`; `choose` picks one (default: the best). Switchbacks and audience holdouts
are designed by `switchback_experiments` and `holdout_experiments` (their request schemas are there).

Overlapping tests are refused (409) because they confound each other: two geo tests sharing a region at one
retailer on the same dates; a switchback (ads on and off everywhere) and any geo test or switchback at that
retailer on the same dates; two holdouts of one segment. Cancelling a test frees its regions and dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import transaction

from campaigns.measure.holdout_experiments import holdout_experiment_design
from campaigns.measure.models import ACTIVE, Experiment, ExperimentKind, ExperimentStatus
from campaigns.measure.requests import MeasureRequestError, _number, _strings, _whole, pre_period
from campaigns.measure.switchback_experiments import switchback_design
from governance.audit.services import audit_record


def experiment_create(*, actor: str, data: Any) -> Experiment:
    if not isinstance(data, dict):
        raise MeasureRequestError("request", "must be a JSON object")
    kind = data.get("kind", ExperimentKind.GEO)
    if kind not in ExperimentKind.values:
        raise MeasureRequestError("kind", f"must be one of {', '.join(ExperimentKind.values)}; got {kind!r}")
    start = _date(data, "start_date")
    if kind == ExperimentKind.SWITCHBACK:
        fields = switchback_design(data, start)
    elif kind == ExperimentKind.HOLDOUT:
        fields = holdout_experiment_design(data, start)
    else:
        fields = _geo_design(data, start)
    name = str(data.get("name") or fields.pop("name"))[:200]
    fields.pop("name", None)
    with transaction.atomic():
        _refuse_overlap(kind, fields)
        experiment = Experiment.objects.create(name=name, kind=kind, created_by=actor, request=data, **fields)
        audit_record(actor=actor, action="experiment.create", object_type="experiment",
                     object_id=str(experiment.pk), details={"kind": kind, "retailer": experiment.retailer,
                                                            "treated": experiment.treated,
                                                            "start": experiment.start_date.isoformat(),
                                                            "end": experiment.end_date.isoformat()})
    return experiment


def experiment_cancel(*, actor: str, experiment: Experiment) -> Experiment:
    """Cancel a designed or running test: it no longer blocks others; a read-out one stays as it is."""
    if not experiment.is_active:
        raise MeasureRequestError("status", f"only a designed or running experiment can be cancelled; this one is "
                                            f"{experiment.get_status_display().lower()}", status=409,
                                  code="not_cancellable")
    with transaction.atomic():
        experiment.status = ExperimentStatus.CANCELLED
        experiment.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="experiment.cancel", object_type="experiment",
                     object_id=str(experiment.pk), details={"kind": experiment.kind})
    return experiment


def _geo_design(data: dict, start: dt.date | None) -> dict:
    from campaigns.measure.design import geo_designs

    retailer, metric, sales = pre_period(data)
    n_treated = _whole(data, "n_treated")
    cells = _whole(data, "cells", required=False) or 1
    test_days = _whole(data, "test_days")
    choose = data.get("choose", 0)
    if isinstance(choose, bool) or not isinstance(choose, int) or choose < 0:
        raise MeasureRequestError("choose", "must be the index of a ranked design (0 = the best)")
    last = sales.dates[-1]
    start = start or last + dt.timedelta(days=1)
    if start <= last:
        raise MeasureRequestError("start_date", f"must be after the last day with sales data ({last}): the "
                                                "pre-period has to end before the test starts")
    end = start + dt.timedelta(days=test_days - 1)
    params = {
        "n_treated": n_treated, "test_days": test_days, "cells": cells,
        "include": _strings(data, "include"), "exclude": _strings(data, "exclude"),
        "lift": _number(data, "lift", None, low=-1.0, open_low=True, required=False),
        "iroas": _number(data, "iroas", None, low=0.0, open_low=True, required=False),
        "alpha": _number(data, "alpha", 0.05, low=0.0, high=1.0, open_low=True, open_high=True),
    }
    params["power"] = _number(data, "power", 0.8, low=params["alpha"], high=1.0, open_low=True, open_high=True)
    try:
        designs = geo_designs(sales.values, sales.regions, **params)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        raise MeasureRequestError(field if message else "design", message or str(exc)) from exc
    if choose >= len(designs):
        raise MeasureRequestError("choose", f"there are {len(designs)} ranked designs (0 to {len(designs) - 1})")
    chosen = designs[choose]
    treated = [list(cell) for cell in chosen.cells]
    return {"name": f"{retailer} geo test from {start}", "retailer": retailer, "metric": metric,
            "start_date": start, "end_date": end, "pre_from": sales.dates[0], "pre_to": last, "treated": treated,
            "control": list(chosen.control), "excluded": sorted(params["exclude"]), "design": _jsonable(chosen),
            "alternatives": [_jsonable(d) for i, d in enumerate(designs) if i != choose],
            "schedule": _schedule(start, end, treated, chosen, test_days)}


def _refuse_overlap(kind: str, fields: dict) -> None:
    retailer, start, end = fields["retailer"], fields["start_date"], fields["end_date"]
    regions = {r for cell in fields.get("treated", []) for r in cell} | set(fields.get("control", []))
    clashing = Experiment.objects.select_for_update().filter(
        retailer=retailer, status__in=ACTIVE, start_date__lte=end, end_date__gte=start)
    for other in clashing:
        if kind == ExperimentKind.HOLDOUT or other.kind == ExperimentKind.HOLDOUT:
            if kind == other.kind and other.design.get("segment") == fields["design"]["segment"]:
                reason, shared = f"holds out part of the same segment ({other.design['segment']})", []
            else:
                continue
        elif ExperimentKind.SWITCHBACK in (kind, other.kind):
            reason, shared = "turns ads on and off in every region", []
        else:
            shared = sorted(regions & other.regions_in_test)
            if not shared:
                continue
            reason = f"runs on {', '.join(shared)}"
        raise MeasureRequestError(
            "start_date", f"experiment {other.pk} ({other.name}) {reason} at {retailer} from {other.start_date} to "
                          f"{other.end_date}: tests on the same audience, regions and dates confound each other",
            status=409, code="overlapping_experiment", details={"experiment": other.pk, "regions": shared})


def _schedule(start: dt.date, end: dt.date, treated: list[list[str]], chosen, days: int) -> list[dict]:
    daily = f"{chosen.expected_cost / days:.2f}" if chosen.expected_cost is not None else None
    steps = [{"date": start.isoformat(), "action": "start",
              "detail": "change spend in the treated regions only; keep every control region as it was",
              "cells": treated, **({"extra_spend_per_day": daily} if daily else {})},
             {"date": end.isoformat(), "action": "end", "detail": "last day of the test; return to normal spend"},
             {"date": (end + dt.timedelta(days=1)).isoformat(), "action": "readout",
              "detail": "load the test period's sales, then ask for the readout"}]
    return steps


def _jsonable(candidate) -> dict:
    out = dataclasses.asdict(candidate)
    out["cells"] = [list(cell) for cell in candidate.cells]
    out["control"] = list(candidate.control)
    return out


def _date(data: dict, name: str) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise MeasureRequestError(name, "must be a date as YYYY-MM-DD") from None
