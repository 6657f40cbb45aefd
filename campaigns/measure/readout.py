"""Reading out an experiment, whatever its kind: lift with its 95% interval and p-value, incremental sales and
iROAS, a verdict in words that never claims more than the interval supports, and the calibration loop: the
measured incrementality becomes an `IncrementalityFactor` the next plan uses and cites.

- Geo tests: every cell by difference-in-differences and by synthetic control (conformal inference); `method`
  picks which one gives the cell's figures, and the verdict says when the two disagree.
- Switchbacks: ON against OFF blocks (switchback_experiments.py); the switched network is calibrated by default.
- Audience holdouts: from the outcome aggregates (holdout_experiments.py), until the clean room answers them.

`POST /api/v1/experiments/<id>/readout` (a job) takes, all optional except a holdout's outcome:

    {"method": "did",                   # geo only; or "synthetic"
     "spend": "12000",                  # extra ad spend in the test → iROAS
     "network": "walmart", "placement": "carousel", "campaign": "",   # what was tested → calibration
     "attributed_sales": "30500",       # what the network credited to those ads in the test (else: a geo test
                                        # takes its RMIS attributed sales × the treated share, a switchback its
                                        # attributed sales on the analysed ON days)
     "outcome": {...}}                  # holdouts: each group's users, converters and revenue
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from scipy import stats

from campaigns.measure.history import regional_sales
from campaigns.measure.holdout_experiments import holdout_read_out, holdout_readout_params
from campaigns.measure.models import Experiment, ExperimentKind, ExperimentStatus
from campaigns.measure.requests import MeasureRequestError, _money
from campaigns.measure.switchback_experiments import attributed_on, switchback_read_out
from campaigns.measure.switchback_experiments import params_for as switchback_params_for
from campaigns.plans.models import IncrementalityFactor

LEVEL = 0.95
METHODS = ("did", "synthetic")
METHOD_NAMES = {"did": "Difference-in-differences", "synthetic": "The synthetic control"}
MIN_SWITCHBACK_BLOCKS = 4
VERDICT_WORDS = {
    ExperimentKind.GEO: {"subject": "The treated regions", "compared": "their controls predict"},
    ExperimentKind.SWITCHBACK: {"subject": "Days with the ads on", "compared": "days with them off"},
}
NO_TEST_DATA = "The test period ({start} to {end}) has {days} days of sales data; a readout needs at least {need}."


def readout_params(data: Any, *, kind: str = ExperimentKind.GEO) -> dict:
    """Validate the readout request before a job is queued (MeasureRequestError names the field)."""
    if not isinstance(data, dict):
        raise MeasureRequestError("request", "must be a JSON object")
    out: dict[str, Any] = {}
    method = data.get("method", "did")
    if method not in METHODS:
        raise MeasureRequestError("method", f"must be one of {', '.join(METHODS)}; got {method!r}")
    if method != "did" and kind != ExperimentKind.GEO:
        raise MeasureRequestError("method", "only geo tests are read by a choice of method")
    if kind == ExperimentKind.GEO:
        out["method"] = method
    if kind == ExperimentKind.HOLDOUT:
        out.update(holdout_readout_params(data))
    for name in ("spend", "attributed_sales"):
        amount = _money(data, name)
        if amount is not None:
            out[name] = str(amount)
    for name in ("network", "placement", "campaign"):
        value = data.get(name, "")
        if not isinstance(value, str):
            raise MeasureRequestError(name, "must be a name")
        out[name] = value.strip()
    if (out["placement"] or out["campaign"] or "attributed_sales" in out) and not out["network"] \
            and kind != ExperimentKind.SWITCHBACK:  # a switchback's network is the one it switched
        raise MeasureRequestError("network", "name the network whose ads were tested, to calibrate its factor")
    return out


def experiment_readout(experiment: Experiment, params: dict, *, block_days: int = 7) -> dict:
    """Read the test out, store the readout on the experiment and, when a network is named, its factor."""
    attributed: tuple[float, str] | None = None
    if experiment.kind == ExperimentKind.HOLDOUT:
        result = holdout_read_out(experiment, params)
        cells, readout = [result["cell"]], {"verdict": result["verdict"], "noise_sd": result["noise_sd"]}
        for key in ("iroas", "iroas_interval"):
            if key in result:
                readout[key] = result[key]
        if "iroas" in readout:
            readout["spend"] = params["spend"]
    else:
        loaded = _days_with_data(experiment)
        need = int(experiment.design.get("block_days", block_days)) * (
            MIN_SWITCHBACK_BLOCKS if experiment.kind == ExperimentKind.SWITCHBACK else 1)
        if loaded < need:
            raise MeasureRequestError("experiment", NO_TEST_DATA.format(
                start=experiment.start_date, end=experiment.end_date, days=loaded, need=need), status=409,
                code="no_test_data")
        if experiment.kind == ExperimentKind.SWITCHBACK:
            params = switchback_params_for(experiment.design, params)
            result = switchback_read_out(experiment, loaded)
            cells = [result["cell"]]
            if params.get("network") and "attributed_sales" not in params:
                attributed = (attributed_on(params["network"], params["placement"], result["on_days"]),
                              "the network's attributed sales on the analysed days with ads on")
        else:
            cells, pre = _geo_cells(experiment, params, loaded, block_days)
            if params.get("network") and "attributed_sales" not in params:
                attributed = _attributed_in_treated(experiment, params, _treated_share(experiment, pre))
        readout = {"days_loaded": loaded}
        if "spend" in params:
            spend = float(params["spend"])
            readout.update(spend=params["spend"], iroas=sum(c["incremental_sales"] for c in cells) / spend,
                           iroas_interval=[sum(c["interval"][i] * c["treated_sales"] / (1 + c["lift"]) for c in cells)
                                           / spend for i in (0, 1)])
        readout["verdict"] = _verdict(cells, readout, **VERDICT_WORDS[experiment.kind])
    readout = {"level": LEVEL, "kind": experiment.kind, "cells": cells, "read_at": timezone.localdate().isoformat(),
               **({"method": params.get("method", "did")} if experiment.kind == ExperimentKind.GEO else {}),
               **readout}
    total = sum(c["incremental_sales"] for c in cells)
    with transaction.atomic():
        if params.get("network"):
            readout["calibration"] = _calibrate(experiment, params, total, cells, attributed)
        experiment.readout = readout
        experiment.status = ExperimentStatus.READ_OUT
        experiment.save(update_fields=["readout", "status", "updated_at"])
    return readout


def _geo_cells(experiment: Experiment, params: dict, loaded: int, block_days: int) -> tuple[list[dict], Any]:
    """Each geo test cell read by DiD and by synthetic control; the method asked for gives the cell's figures."""
    from campaigns.measure.geo import did_interval, did_lift

    pre = regional_sales(retailer=experiment.retailer, metric=experiment.metric, date_from=experiment.pre_from,
                         date_to=experiment.pre_to)
    test = regional_sales(retailer=experiment.retailer, metric=experiment.metric, date_from=experiment.start_date,
                          date_to=experiment.end_date)
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
    return cells, pre


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


def _verdict(cells: list[dict], readout: dict, *, subject: str, compared: str) -> str:
    lines = []
    for i, cell in enumerate(cells, start=1):
        low, high = cell["interval"]
        name = f"Cell {i} ({', '.join(cell['treated'])})" if len(cells) > 1 else subject
        span = f"{cell['lift']:+.1%} (95% interval {low:+.1%} to {high:+.1%}, p = {cell['p_value']:.3f})"
        if low > 0:
            lines.append(f"{name} sold more than {compared}: {span}, about "
                         f"${cell['incremental_sales']:,.0f} of incremental sales over {cell['days_read']} days.")
        elif high < 0:
            lines.append(f"{name} sold less than {compared}: {span}.")
        else:
            lines.append(f"{name}: the test cannot tell the lift from zero — {span}. This is not evidence of no "
                         "effect; the interval still allows effects of that size.")
        other_method = "did" if cell.get("method") == "synthetic" else "synthetic"
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


def _attributed_in_treated(experiment: Experiment, params: dict, share: float) -> tuple[float, str]:
    """A geo test's attributed sales: the network's (placement's) in the test × the treated share of sales."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(attributed_sales), 0)::float8 FROM campaigns_rmisevent WHERE network = %s "  # noqa: S608 - fixed clauses
            "AND date BETWEEN %s AND %s" + (" AND placement = %s" if params["placement"] else ""),
            [params["network"], experiment.start_date, experiment.end_date]
            + ([params["placement"]] if params["placement"] else []))
        attributed = cursor.fetchone()[0] * share
    return attributed, f"the network's attributed sales in the test × the treated share of sales ({share:.1%})"


def _calibrate(experiment: Experiment, params: dict, incremental: float, cells: list[dict],
               attributed: tuple[float, str] | None) -> dict:
    """Measured incrementality = incremental sales / the sales the network attributed to the tested ads (as given,
    else `attributed`: the kind's own estimate and how it was made); stored as the factor for the tested network
    (placement, campaign) so the next plan uses it."""
    if "attributed_sales" in params:
        attributed = (float(params["attributed_sales"]), "as given")
    if attributed is None:
        return {"updated": False, "reason": "no attributed sales to compare with: state what the network credited "
                                            "to the tested ads (attributed_sales)"}
    attributed, basis = attributed
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
