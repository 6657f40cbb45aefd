"""Designing an experiment and storing it with its schedule: `POST /api/v1/experiments`.

    {"name": "Walmart west geo test", "kind": "geo", "retailer": "walmart", "metric": "revenue",
     "n_treated": 3, "cells": 1, "include": ["US-W"], "exclude": ["US-TX"], "test_days": 28,
     "start_date": "2026-12-07", "pre_days": 84, "lift": 0.05, "iroas": 1.5, "power": 0.8, "alpha": 0.05,
     "choose": 0}

The pre-period is the retailer's last `pre_days` of regional sales; the ranked candidate designs come from
`campaigns.measure.design.geo_designs`; `choose` picks one (default: the best). An experiment on any of the same
regions at the same retailer whose dates overlap is refused (409): two tests on one region confound each other.
Only geo designs exist so far; switchbacks and audience holdouts come next.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import transaction

from campaigns.measure.models import Experiment, ExperimentKind, ExperimentStatus
from campaigns.measure.requests import MeasureRequestError, _number, _strings, _whole, pre_period
from governance.audit.services import audit_record

ACTIVE = (ExperimentStatus.DESIGNED, ExperimentStatus.RUNNING)


def experiment_create(*, actor: str, data: Any) -> Experiment:
    from campaigns.measure.design import geo_designs

    if not isinstance(data, dict):
        raise MeasureRequestError("request", "must be a JSON object")
    kind = data.get("kind", ExperimentKind.GEO)
    if kind != ExperimentKind.GEO:
        raise MeasureRequestError("kind", "only geo designs are available so far")
    retailer, metric, sales = pre_period(data)
    n_treated = _whole(data, "n_treated")
    cells = _whole(data, "cells", required=False) or 1
    test_days = _whole(data, "test_days")
    choose = data.get("choose", 0)
    if isinstance(choose, bool) or not isinstance(choose, int) or choose < 0:
        raise MeasureRequestError("choose", "must be the index of a ranked design (0 = the best)")
    last = sales.dates[-1]
    start = _date(data, "start_date") or last + dt.timedelta(days=1)
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
    with transaction.atomic():
        _refuse_overlap(retailer, start, end, {r for cell in treated for r in cell} | set(chosen.control))
        experiment = Experiment.objects.create(
            name=str(data.get("name") or f"{retailer} geo test from {start}")[:200], kind=kind,
            created_by=actor, retailer=retailer, metric=metric, start_date=start, end_date=end,
            pre_from=sales.dates[0], pre_to=sales.dates[-1], treated=treated, control=list(chosen.control),
            excluded=sorted(params["exclude"]), request=data, design=_jsonable(chosen),
            alternatives=[_jsonable(d) for i, d in enumerate(designs) if i != choose],
            schedule=_schedule(start, end, treated, chosen, test_days),
        )
        audit_record(actor=actor, action="experiment.create", object_type="experiment",
                     object_id=str(experiment.pk), details={"retailer": retailer, "treated": treated,
                                                            "start": start.isoformat(), "end": end.isoformat()})
    return experiment


def _refuse_overlap(retailer: str, start: dt.date, end: dt.date, regions: set[str]) -> None:
    clashing = Experiment.objects.select_for_update().filter(
        retailer=retailer, status__in=ACTIVE, start_date__lte=end, end_date__gte=start)
    for other in clashing:
        shared = sorted(regions & other.regions_in_test)
        if shared:
            raise MeasureRequestError(
                "start_date", f"experiment {other.pk} ({other.name}) runs on {', '.join(shared)} from "
                              f"{other.start_date} to {other.end_date}: tests on the same regions and dates confound "
                              "each other", status=409, code="overlapping_experiment",
                details={"experiment": other.pk, "regions": shared})


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
