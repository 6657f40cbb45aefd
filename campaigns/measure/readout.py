"""Reading out a geo test: lift per test cell by difference-in-differences and by synthetic control (conformal
inference), each with its 95% interval and p-value; incremental sales and iROAS from the method asked for (DiD by
default); a verdict in words that never claims more than the interval supports, and says when the two methods
disagree; and the calibration loop: the measured incrementality becomes an `IncrementalityFactor` the next plan
uses and cites.

`POST /api/v1/experiments/<id>/readout` (a job) takes, all optional:

    {"method": "did",                   # or "synthetic": which readout the lift, iROAS and calibration use
     "spend": "12000",                  # extra ad spend in the treated regions during the test → iROAS
     "network": "walmart", "placement": "carousel", "campaign": "",   # what was tested → calibration
     "attributed_sales": "30500"}       # what the network credited to those ads in the treated regions
                                        # (else: its RMIS attributed sales in the test × the treated share)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from scipy import stats

from campaigns.measure.history import regional_sales
from campaigns.measure.models import Experiment, ExperimentStatus
from campaigns.measure.requests import MeasureRequestError, _money
from campaigns.plans.models import IncrementalityFactor

LEVEL = 0.95
METHODS = ("did", "synthetic")
METHOD_NAMES = {"did": "Difference-in-differences", "synthetic": "The synthetic control"}
NO_TEST_DATA = "The test period ({start} to {end}) has {days} days of sales data; a readout needs at least {need}."


def readout_params(data: Any) -> dict:
    """Validate the readout request before a job is queued (MeasureRequestError names the field)."""
    if not isinstance(data, dict):
        raise MeasureRequestError("request", "must be a JSON object")
    out: dict[str, Any] = {}
    method = data.get("method", "did")
    if method not in METHODS:
        raise MeasureRequestError("method", f"must be one of {', '.join(METHODS)}; got {method!r}")
    out["method"] = method
    for name in ("spend", "attributed_sales"):
        amount = _money(data, name)
        if amount is not None:
            out[name] = str(amount)
    for name in ("network", "placement", "campaign"):
        value = data.get(name, "")
        if not isinstance(value, str):
            raise MeasureRequestError(name, "must be a name")
        out[name] = value.strip()
    if (out["placement"] or out["campaign"] or "attributed_sales" in out) and not out["network"]:
        raise MeasureRequestError("network", "name the network whose ads were tested, to calibrate its factor")
    return out


def experiment_readout(experiment: Experiment, params: dict, *, block_days: int = 7) -> dict:
    """Read the test out, store the readout on the experiment and, when a network is named, its factor."""
    from campaigns.measure.geo import did_interval, did_lift

    pre = regional_sales(retailer=experiment.retailer, metric=experiment.metric, date_from=experiment.pre_from,
                         date_to=experiment.pre_to)
    test = regional_sales(retailer=experiment.retailer, metric=experiment.metric, date_from=experiment.start_date,
                          date_to=experiment.end_date)
    loaded = _days_with_data(experiment)
    if loaded < block_days:
        raise MeasureRequestError("experiment", NO_TEST_DATA.format(
            start=experiment.start_date, end=experiment.end_date, days=loaded, need=block_days), status=409,
            code="no_test_data")
    regions = sorted(set(pre.regions) & set(test.regions))
    pre_values = pre.values[[pre.regions.index(r) for r in regions]]
    test_values = test.values[[test.regions.index(r) for r in regions]][:, :loaded]
    control = [regions.index(r) for r in experiment.control if r in regions]
    method = params.get("method", "did")
    cells = []
    for cell in experiment.treated:
        treated = [regions.index(r) for r in cell if r in regions]
        rows = treated + control
        index = list(range(len(treated)))
        lift, se = did_lift(pre_values[rows], test_values[rows], treated=index, block_days=block_days)
        blocks_pre = pre_values.shape[1] // block_days
        low, high = did_interval(lift, se, blocks_pre=blocks_pre, level=LEVEL)
        p_value = float(2 * stats.t.sf(abs(lift / se), blocks_pre - 1))
        blocks_test = loaded // block_days
        treated_sales = float(test_values[treated, : blocks_test * block_days].sum())
        did = {"lift": lift, "interval": [low, high], "p_value": p_value, "treated_sales": treated_sales,
               "incremental_sales": treated_sales - treated_sales / (1 + lift), "days_read": blocks_test * block_days,
               "significant": not (low <= 0 <= high)}
        synthetic = _synthetic(pre_values[rows], test_values[rows], index, [regions[i] for i in control],
                               pre.dates + test.dates[:loaded])
        chosen = synthetic if method == "synthetic" and "lift" in synthetic else did
        cells.append({"treated": cell, "method": "synthetic" if chosen is synthetic else "did",
                      **{key: chosen[key] for key in ("lift", "interval", "p_value", "incremental_sales",
                                                      "treated_sales", "days_read", "significant")},
                      "did": did, "synthetic": synthetic})
    readout = {"level": LEVEL, "method": method, "cells": cells, "days_loaded": loaded,
               "read_at": timezone.localdate().isoformat()}
    total = sum(c["incremental_sales"] for c in cells)
    if "spend" in params:
        spend = float(params["spend"])
        readout["spend"] = params["spend"]
        readout["iroas"] = total / spend
        readout["iroas_interval"] = [sum(c["interval"][0] * c["treated_sales"] / (1 + c["lift"]) for c in cells)
                                     / spend,
                                     sum(c["interval"][1] * c["treated_sales"] / (1 + c["lift"]) for c in cells)
                                     / spend]
    readout["verdict"] = _verdict(cells, readout)
    with transaction.atomic():
        if params.get("network"):
            readout["calibration"] = _calibrate(experiment, params, total, cells, _treated_share(experiment, pre))
        experiment.readout = readout
        experiment.status = ExperimentStatus.READ_OUT
        experiment.save(update_fields=["readout", "status", "updated_at"])
    return readout


def _synthetic(pre: np.ndarray, test: np.ndarray, treated: list[int], controls: list[str], dates: list) -> dict:
    """The synthetic-control readout of one cell (rows: its treated regions, then the controls), with its daily
    treated and counterfactual sales for the lift-over-time chart; `{"error": ...}` where it cannot be read."""
    from campaigns.measure.synthetic import synthetic_readout

    try:
        result = synthetic_readout(pre, test, treated=treated, alpha=1 - LEVEL)
    except ValueError as exc:
        return {"error": str(exc)}
    low, high = result.interval
    days = test.shape[1]
    treated_sales = float(result.treated[-days:].sum())
    return {"lift": result.lift, "interval": [low, high], "p_value": result.p_value,
            "incremental_sales": result.incremental_sales, "treated_sales": treated_sales, "days_read": days,
            "significant": not (low <= 0 <= high), "pre_fit": result.pre_fit,
            "weights": {controls[j - len(treated)]: round(w, 4) for j, w in result.weights.items()},
            "series": {"dates": [d.isoformat() for d in dates], "treated": [round(v, 2) for v in result.treated],
                       "counterfactual": [round(v, 2) for v in result.counterfactual],
                       "test_from": dates[-days].isoformat()}}


def _days_with_data(experiment: Experiment) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(DISTINCT date) FROM campaigns_rmissalesfact WHERE retailer = %s AND date "
                       "BETWEEN %s AND %s", [experiment.retailer, experiment.start_date, experiment.end_date])
        return int(cursor.fetchone()[0])


def _verdict(cells: list[dict], readout: dict) -> str:
    lines = []
    for i, cell in enumerate(cells, start=1):
        low, high = cell["interval"]
        name = f"Cell {i} ({', '.join(cell['treated'])})" if len(cells) > 1 else "The treated regions"
        span = f"{cell['lift']:+.1%} (95% interval {low:+.1%} to {high:+.1%}, p = {cell['p_value']:.3f})"
        if low > 0:
            lines.append(f"{name} sold more than their controls predict: {span}, about "
                         f"${cell['incremental_sales']:,.0f} of incremental sales over {cell['days_read']} days.")
        elif high < 0:
            lines.append(f"{name} sold less than their controls predict: {span}.")
        else:
            lines.append(f"{name}: the test cannot tell the lift from zero — {span}. This is not evidence of no "
                         "effect; the interval still allows effects of that size.")
        other_method = "did" if cell["method"] == "synthetic" else "synthetic"
        other = cell.get(other_method) or {}
        if "lift" in other and other["significant"] != cell["significant"]:
            o_low, o_high = other["interval"]
            lines.append(f"{METHOD_NAMES[other_method]} reads {other['lift']:+.1%} (95% interval {o_low:+.1%} to "
                         f"{o_high:+.1%}); the two methods disagree on whether there is a lift, so read this "
                         f"result as uncertain.")
    if "iroas" in readout:
        low, high = readout["iroas_interval"]
        lines.append(f"Incremental ROAS on the ${Decimal(readout['spend']):,.2f} of test spend: "
                     f"{readout['iroas']:.2f} (95% interval {low:.2f} to {high:.2f}).")
    return " ".join(lines)


def _calibrate(experiment: Experiment, params: dict, incremental: float, cells: list[dict], share: float) -> dict:
    """Measured incrementality = incremental sales / the sales the network attributed to the tested ads in the
    treated regions; stored as the factor for the tested network (placement, campaign) so the next plan uses it."""
    if "attributed_sales" in params:
        attributed, basis = float(params["attributed_sales"]), "as given"
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(SUM(attributed_sales), 0)::float8 FROM campaigns_rmisevent WHERE network = %s "  # noqa: S608 - fixed clauses
                "AND date BETWEEN %s AND %s" + (" AND placement = %s" if params["placement"] else ""),
                [params["network"], experiment.start_date, experiment.end_date]
                + ([params["placement"]] if params["placement"] else []))
            attributed = cursor.fetchone()[0] * share
        basis = f"the network's attributed sales in the test × the treated share of sales ({share:.1%})"
    if attributed <= 0:
        return {"updated": False, "reason": "the network attributed no sales to the tested ads in the test"}
    measured = incremental / attributed
    if not any(c["significant"] for c in cells) or measured <= 0:
        return {"updated": False, "measured": measured,
                "reason": "the lift is not distinguishable from zero (or negative); the factor was left as it was"}
    factor = float(min(1.0, measured))
    source = f"experiment {experiment.pk}: {experiment.name} ({experiment.start_date} to {experiment.end_date})"
    IncrementalityFactor.objects.update_or_create(
        network=params["network"], placement=params["placement"], campaign=params["campaign"],
        defaults={"factor": factor, "source": source[:200],
                  "note": f"incremental ${incremental:,.2f} / attributed ${attributed:,.2f} ({basis})"})
    return {"updated": True, "factor": factor, "measured": measured, "attributed_sales": attributed,
            "basis": basis, "network": params["network"], "placement": params["placement"],
            "campaign": params["campaign"], "source": source}


def _treated_share(experiment: Experiment, pre) -> float:
    """The treated regions' share of pre-period sales (`pre`: the readout's RegionalSales)."""
    treated = {r for cell in experiment.treated for r in cell}
    total = float(pre.values.sum())
    rows = [i for i, r in enumerate(pre.regions) if r in treated]
    return float(np.asarray(pre.values)[rows].sum()) / total if total else 0.0
