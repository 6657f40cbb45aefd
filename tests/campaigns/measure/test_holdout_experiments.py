"""Audience holdout experiments: designed from a stated audience (the clean room's aggregates later), stored with
their schedule, read out from the outcome aggregates; bad numbers named, groups under k refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from campaigns.measure.readout import experiment_readout, readout_params
from campaigns.measure.requests import MeasureRequestError
from campaigns.plans.models import IncrementalityFactor
from tests.conftest import api_client_for

AUDIENCE = {"users": 200_000, "converters": 3_100, "days": 28, "revenue": 41_000}
DESIGN = {"kind": "holdout", "retailer": "megamart", "segment": "lapsed cereal buyers", "audience": AUDIENCE,
          "holdout_share": 0.1, "test_days": 28, "start_date": "2026-12-07", "lift": 0.15}
OUTCOME = {"exposed_users": 180_000, "exposed_converters": 3_240, "holdout_users": 20_000,
           "holdout_converters": 300, "exposed_revenue": 43_000, "holdout_revenue": 3_900}


def post(tenant, body: dict, username: str = "acme-analyst"):
    return api_client_for(tenant, username=username).post("/api/v1/experiments", body, format="json")


def test_a_holdout_is_designed_from_the_stated_audience(acme):
    response = post(acme, DESIGN)

    assert response.status_code == 201, response.content
    body = response.json()
    design = body["design"]
    assert body["kind"] == "holdout" and body["metric"] == "conversions"
    assert (body["start_date"], body["end_date"]) == ("2026-12-07", "2027-01-03")
    assert design["segment"] == "lapsed cereal buyers" and design["holdout_users"] == 20_000
    assert design["exposed_users"] == 180_000 and 0 < design["mde"] < 1 and 0 < design["power_at_lift"] < 1
    assert [step["action"] for step in body["schedule"]] == ["start", "end", "readout"]
    assert "hold out 10% of 'lapsed cereal buyers' (20,000 users" in body["schedule"][0]["detail"]


def test_with_a_lift_and_no_share_the_smallest_holdout_that_sees_it_is_chosen(acme):
    body = post(acme, {**{k: v for k, v in DESIGN.items() if k != "holdout_share"}, "lift": 0.2}).json()

    design = body["design"]
    assert design["power_at_lift"] >= 0.8 and design["holdout_share"] <= 0.5


def test_two_holdouts_of_one_segment_clash_but_not_with_other_segments_or_geo_tests(acme):
    first = post(acme, DESIGN)
    clash = post(acme, {**DESIGN, "name": "again"})
    other = post(acme, {**DESIGN, "segment": "new parents"})

    assert first.status_code == 201 and other.status_code == 201
    assert clash.status_code == 409 and "holds out part of the same segment" in clash.json()["error"]["message"]


@pytest.mark.parametrize(("body", "field", "status"), [
    ({**DESIGN, "segment": ""}, "segment", 400),
    ({**DESIGN, "audience": {**AUDIENCE, "converters": 300_000}}, "audience", 400),
    ({**DESIGN, "audience": {"users": 1000}}, "audience", 400),
    ({**DESIGN, "holdout_share": 0.7}, "holdout_share", 400),
    ({**DESIGN, "holdout_share": None, "lift": 0.001}, "lift", 422),
    ({**DESIGN, "audience": {**AUDIENCE, "users": 80, "converters": 10}}, "audience", 400),
])
def test_bad_holdouts_are_refused_naming_the_field(acme, body, field, status):
    response = post(acme, body)

    assert response.status_code == status, response.content
    assert response.json()["error"]["details"]["field"] == field
    with schema_context("acme"):
        assert not Experiment.objects.exists()


def test_the_outcome_reads_out_a_lift_with_its_interval_iroas_and_calibration(acme):
    created = post(acme, DESIGN).json()
    with schema_context("acme"):
        experiment = Experiment.objects.get(pk=created["id"])

        readout = experiment_readout(experiment, readout_params(
            {"outcome": OUTCOME, "spend": "9000", "network": "criteo", "attributed_sales": "20000"}, kind="holdout"))

        # exposed 1.8% against the holdout's 1.5%: +20%, with its interval, p-value and incremental conversions
        [cell] = readout["cells"]
        assert cell["lift"] == pytest.approx(0.20)
        assert cell["interval"][0] < 0.20 < cell["interval"][1] and cell["significant"]
        assert cell["incremental_conversions"] == pytest.approx(3_240 - 180_000 * 0.015)
        assert readout["iroas"] == pytest.approx(cell["incremental_sales"] / 9000)
        assert readout["verdict"].startswith("The exposed users converted more than the holdout: +20.0%")
        # and the measured incrementality (incremental revenue / what criteo credited) becomes criteo's factor
        calibration = readout["calibration"]
        assert calibration["updated"] and calibration["factor"] == pytest.approx(cell["incremental_sales"] / 20000)
        assert IncrementalityFactor.objects.get(network="criteo").source.startswith(f"experiment {experiment.pk}")


def test_a_group_under_the_k_anonymity_minimum_is_refused(acme):
    created = post(acme, DESIGN).json()
    with schema_context("acme"):
        experiment = Experiment.objects.get(pk=created["id"])
        with pytest.raises(MeasureRequestError) as raised:
            experiment_readout(experiment, readout_params(
                {"outcome": {**OUTCOME, "holdout_users": 40, "holdout_converters": 1}}, kind="holdout"))
        experiment.refresh_from_db()

    assert raised.value.field == "outcome" and raised.value.status == 422
    assert "below the k-anonymity minimum of 50" in raised.value.message
    assert experiment.readout is None and experiment.status == "designed"


def test_the_readout_api_needs_the_outcome(acme):
    created = post(acme, DESIGN).json()
    client = api_client_for(acme, username="acme-analyst")

    missing = client.post(f"/api/v1/experiments/{created['id']}/readout", {"spend": "100"}, format="json")
    queued = client.post(f"/api/v1/experiments/{created['id']}/readout", {"outcome": OUTCOME}, format="json")

    assert missing.status_code == 400 and missing.json()["error"]["details"]["field"] == "outcome"
    assert queued.status_code == 202
    assert dt.date.fromisoformat(created["end_date"]) > dt.date.fromisoformat(created["start_date"])
