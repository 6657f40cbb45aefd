"""Geo test readouts: lift with its interval from the tenant's regional sales, the verdict, iROAS, and the
calibration of the incrementality factor that the next plan uses and cites."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from campaigns.measure.readout import experiment_readout, readout_params
from campaigns.measure.requests import MeasureRequestError
from campaigns.plans.build import plan_build
from campaigns.plans.models import IncrementalityFactor, Plan
from tenants.jobs.models import Job
from tests.conftest import api_client_for

TREATED = ["US-W", "US-NE", "US-TX"]


def geo_test_over_the_last_two_weeks(truth: dict) -> Experiment:
    """A test on the last 14 days of the demo's sales, with the 28 days before as its pre-period."""
    end = dt.date.fromisoformat(truth["end"])
    start = end - dt.timedelta(days=13)
    regions = truth["sales"]["regions"]
    return Experiment.objects.create(
        name="west and east", kind="geo", created_by="user:acme-analyst", retailer="walmart", start_date=start,
        end_date=end, pre_from=start - dt.timedelta(days=28), pre_to=start - dt.timedelta(days=1),
        treated=[TREATED], control=[r for r in regions if r not in TREATED])


def lift_treated_sales(experiment: Experiment, factor: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE campaigns_rmissalesfact SET revenue = revenue * %s WHERE retailer = 'walmart' "
                       "AND region = ANY(%s) AND date BETWEEN %s AND %s",
                       [factor, TREATED, experiment.start_date, experiment.end_date])


def test_a_test_without_any_effect_reads_as_not_distinguishable_from_zero(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)

        readout = experiment_readout(experiment, readout_params({}))

    [cell] = readout["cells"]
    low, high = cell["interval"]
    assert low < 0 < high and not cell["significant"] and cell["p_value"] > 0.05
    assert "cannot tell the lift from zero" in readout["verdict"] and "not evidence of no effect" in readout["verdict"]
    assert experiment.status == "read_out"


def test_a_real_lift_is_measured_with_its_interval_iroas_and_calibrates_the_next_plan(acme, walmart_history):
    with schema_context("acme"):
        # given a geo test whose treated regions sold 30% more during the test
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
        lift_treated_sales(experiment, 1.3)
        treated_sales = sum(f for f in _revenue(experiment))

        # when it is read out, naming the tested network and what it attributed to the tested ads
        readout = experiment_readout(experiment, readout_params(
            {"spend": "2000", "network": "walmart", "attributed_sales": str(round(treated_sales))}))

        # then the lift is about 30%, inside its interval, significant, and in dollars
        [cell] = readout["cells"]
        assert cell["lift"] == pytest.approx(0.30, abs=0.05)
        assert cell["interval"][0] < 0.30 < cell["interval"][1] and cell["p_value"] < 0.01
        assert cell["incremental_sales"] == pytest.approx(treated_sales * cell["lift"] / (1 + cell["lift"]))
        assert readout["iroas"] == pytest.approx(cell["incremental_sales"] / 2000)
        assert "sold more than their controls predict" in readout["verdict"]
        # and the measured incrementality becomes walmart's factor, citing the experiment
        calibration = readout["calibration"]
        assert calibration["updated"] and calibration["factor"] == pytest.approx(
            cell["incremental_sales"] / round(treated_sales), rel=1e-6)
        factor = IncrementalityFactor.objects.get(network="walmart", placement="", campaign="")
        assert factor.factor == pytest.approx(calibration["factor"])
        assert factor.source.startswith(f"experiment {experiment.pk}: west and east")
        # which the next plan uses for every walmart cell, and says so
        plan = Plan.objects.create(name="after the test", created_by="x", request={"budget": "1000",
                                                                                    "scope": {"days": 7}})
        plan_build(plan)
    assert {c["show"]["incrementality_source"] for c in plan.cells} == {factor.source}
    assert f"Incrementality measured by {factor.source}" in plan.rationale


def test_the_synthetic_control_reads_the_same_lift_and_draws_the_counterfactual(acme, walmart_history):
    with schema_context("acme"):
        # given the test whose treated regions sold 30% more
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
        lift_treated_sales(experiment, 1.3)

        # when it is read out by synthetic control
        readout = experiment_readout(experiment, readout_params({"method": "synthetic", "spend": "2000"}))

    # then that method's lift, interval and p-value are the cell's, and DiD's are kept beside them
    [cell] = readout["cells"]
    synthetic = cell["synthetic"]
    assert readout["method"] == cell["method"] == "synthetic"
    assert cell["lift"] == synthetic["lift"] == pytest.approx(0.30, abs=0.05)
    assert synthetic["interval"][0] < 0.30 < synthetic["interval"][1] and synthetic["p_value"] < 0.05
    assert cell["did"]["lift"] == pytest.approx(0.30, abs=0.05) and cell["did"]["significant"]
    assert readout["iroas"] == pytest.approx(synthetic["incremental_sales"] / 2000)
    # with the control regions it mixes (weights summing to 1) and the daily treated and counterfactual sales
    assert set(synthetic["weights"]) <= set(experiment.control)
    assert sum(synthetic["weights"].values()) == pytest.approx(1.0, abs=0.01)
    series = synthetic["series"]
    assert len(series["dates"]) == len(series["treated"]) == len(series["counterfactual"]) == 28 + 14
    assert series["test_from"] == experiment.start_date.isoformat()


def test_an_unknown_readout_method_is_refused():
    with pytest.raises(MeasureRequestError) as raised:
        readout_params({"method": "regression"})
    assert raised.value.field == "method" and "did, synthetic" in raised.value.message


def test_a_test_without_data_yet_cannot_be_read_out(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
        experiment.start_date += dt.timedelta(days=30)
        experiment.end_date += dt.timedelta(days=30)
        experiment.save()

        with pytest.raises(MeasureRequestError) as raised:
            experiment_readout(experiment, {})

    assert (raised.value.code, raised.value.status) == ("no_test_data", 409)
    assert "has 0 days of sales data" in raised.value.message


def test_the_readout_api_queues_a_job_and_validates_first(acme, walmart_history):
    with schema_context("acme"):
        experiment = geo_test_over_the_last_two_weeks(walmart_history)
    client = api_client_for(acme, username="acme-analyst")

    queued = client.post(f"/api/v1/experiments/{experiment.pk}/readout", {"spend": "500"}, format="json")
    bad = client.post(f"/api/v1/experiments/{experiment.pk}/readout", {"spend": "-5"}, format="json")
    orphan = client.post(f"/api/v1/experiments/{experiment.pk}/readout", {"placement": "carousel"}, format="json")
    missing = client.post("/api/v1/experiments/999999/readout", {}, format="json")
    viewer = api_client_for(acme, username="acme-viewer").post(f"/api/v1/experiments/{experiment.pk}/readout", {},
                                                                format="json")

    assert queued.status_code == 202
    with schema_context("acme"):
        job = Job.objects.get(pk=queued.json()["job"])
    assert job.params == {"experiment": experiment.pk, "method": "did", "spend": "500", "network": "", "placement": "",
                          "campaign": ""}
    assert (bad.status_code, bad.json()["error"]["details"]["field"]) == (400, "spend")
    assert (orphan.status_code, orphan.json()["error"]["details"]["field"]) == (400, "network")
    assert missing.status_code == 404 and viewer.status_code == 403


def _revenue(experiment: Experiment) -> list[float]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT revenue FROM campaigns_rmissalesfact WHERE retailer = 'walmart' AND region = ANY(%s) "
                       "AND date BETWEEN %s AND %s", [TREATED, experiment.start_date, experiment.end_date])
        return [float(row[0]) for row in cursor.fetchall()]
