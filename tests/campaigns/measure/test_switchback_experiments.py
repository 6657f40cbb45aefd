"""Switchback experiments on the tenant's data: designed from the retailer's daily sales and stored with an ON/OFF
schedule; clashes with geo tests refused; read out from ON against OFF blocks, calibrating the switched network."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from campaigns.measure.readout import experiment_readout, readout_params
from campaigns.measure.switchback import switchback_schedule
from campaigns.plans.models import IncrementalityFactor
from tests.conftest import api_client_for

DESIGN = {"kind": "switchback", "retailer": "walmart", "network": "walmart", "block_days": 3, "washout_days": 1,
          "test_days": 24, "lift": 0.1, "seed": 7}


def post(tenant, body: dict, username: str = "acme-analyst"):
    return api_client_for(tenant, username=username).post("/api/v1/experiments", body, format="json")


def test_a_switchback_is_designed_from_daily_sales_with_a_balanced_schedule(acme, walmart_history):
    response = post(acme, DESIGN)

    assert response.status_code == 201, response.content
    body = response.json()
    end = dt.date.fromisoformat(walmart_history["end"])
    assert body["kind"] == "switchback" and body["start_date"] == (end + dt.timedelta(days=1)).isoformat()
    blocks = [step for step in body["schedule"] if step["action"] in ("on", "off")]
    assert len(blocks) == 8 and sum(step["action"] == "on" for step in blocks) == 4
    for step in blocks:  # 3-day blocks, the first day of each a washout
        start, until = dt.date.fromisoformat(step["date"]), dt.date.fromisoformat(step["until"])
        assert (until - start).days == 2 and step["analysed_from"] == (start + dt.timedelta(days=1)).isoformat()
        assert "walmart ads at walmart in every region" in step["detail"]
    assert body["schedule"][-1]["action"] == "readout"
    design = body["design"]
    assert design["network"] == "walmart" and design["n_blocks"] == 8 and design["analysed_days"] == 16
    assert 0 < design["mde"] < 1 and 0 < design["power_at_lift"] < 1 and design["block_sd"] > 0
    # the same seed gives the same schedule
    with schema_context("acme"):
        Experiment.objects.all().delete()
    assert post(acme, DESIGN).json()["schedule"] == body["schedule"]


def test_without_a_duration_the_test_lasts_as_long_as_the_lift_needs(acme, walmart_history):
    body = post(acme, {**{k: v for k, v in DESIGN.items() if k != "test_days"}, "lift": 0.3}).json()

    days = (dt.date.fromisoformat(body["end_date"]) - dt.date.fromisoformat(body["start_date"])).days + 1
    assert days % 3 == 0 and body["design"]["power_at_lift"] >= 0.8


def test_a_switchback_and_a_geo_test_at_one_retailer_clash_until_one_is_cancelled(acme, walmart_history):
    switchback = post(acme, DESIGN).json()
    geo = {"retailer": "walmart", "n_treated": 2, "test_days": 14}

    clash = post(acme, geo)
    api_client_for(acme, username="acme-analyst").post(f"/api/v1/experiments/{switchback['id']}/cancel")

    assert clash.status_code == 409
    assert "turns ads on and off in every region" in clash.json()["error"]["message"]
    assert post(acme, geo).status_code == 201


@pytest.mark.parametrize(("body", "field", "status"), [
    ({**DESIGN, "network": "myspace"}, "network", 400),
    ({**DESIGN, "washout_days": 3}, "washout_days", 400),
    ({**DESIGN, "block_days": 0}, "block_days", 400),
    ({**DESIGN, "test_days": 6}, "test_days", 400),
    ({**DESIGN, "block_days": 7, "washout_days": 0}, "pre_days", 400),  # 42 days hold only 6 weekly blocks
    ({**DESIGN, "test_days": None, "lift": 0.001}, "lift", 422),
    ({**DESIGN, "seed": -1}, "seed", 400),
])
def test_bad_switchbacks_are_refused_naming_the_field(acme, walmart_history, body, field, status):
    response = post(acme, body)

    assert response.status_code == status, response.content
    assert response.json()["error"]["details"]["field"] == field
    with schema_context("acme"):
        assert not Experiment.objects.exists()


def switchback_over_the_last_24_days(truth: dict) -> Experiment:
    """A switchback whose test period is the demo's last 24 days (8 blocks of 3), the 18 days before as pre."""
    end = dt.date.fromisoformat(truth["end"])
    start = end - dt.timedelta(days=23)
    blocks = switchback_schedule(start, 24, 3, 1, 5)
    schedule = [{"date": b.start.isoformat(), "until": b.end.isoformat(), "action": "on" if b.on else "off",
                 "analysed_from": b.analysed_from.isoformat()} for b in blocks]
    return Experiment.objects.create(
        name="walmart on/off", kind="switchback", created_by="user:acme-analyst", retailer="walmart",
        start_date=start, end_date=end, pre_from=start - dt.timedelta(days=18), pre_to=start - dt.timedelta(days=1),
        design={"network": "walmart", "placement": "", "block_days": 3, "washout_days": 1, "seed": 5},
        schedule=schedule)


def lift_on_days(experiment: Experiment, factor: float) -> list[dt.date]:
    days = [dt.date.fromisoformat(s["date"]) + dt.timedelta(days=i) for s in experiment.schedule
            if s["action"] == "on" for i in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE campaigns_rmissalesfact SET revenue = revenue * %s WHERE retailer = 'walmart' "
                       "AND date = ANY(%s)", [factor, days])
    return days


def test_on_blocks_that_sold_more_read_as_a_lift_and_calibrate_the_switched_network(acme, walmart_history):
    with schema_context("acme"):
        # given a switchback whose ON blocks sold 40% more
        experiment = switchback_over_the_last_24_days(walmart_history)
        lift_on_days(experiment, 1.4)

        # when it is read out with its spend, naming nothing else
        readout = experiment_readout(experiment, readout_params({"spend": "3000"}, kind="switchback"))

        # then ON against OFF blocks reads about +40%, significant, with incremental sales and iROAS
        [cell] = readout["cells"]
        assert readout["kind"] == "switchback" and "method" not in readout
        assert cell["lift"] == pytest.approx(0.40, abs=0.12)
        assert cell["interval"][0] > 0 and cell["significant"] and cell["blocks_on"] == cell["blocks_off"] == 4
        assert cell["days_read"] == 16 and len(cell["blocks"]) == 8
        assert readout["iroas"] == pytest.approx(cell["incremental_sales"] / 3000)
        assert readout["verdict"].startswith("Days with the ads on sold more than days with them off: +")
        # and the switched network's factor comes from its attributed sales on the analysed ON days
        calibration = readout["calibration"]
        assert calibration["network"] == "walmart" and "analysed days with ads on" in calibration["basis"]
        assert calibration["updated"] == (calibration["measured"] > 0)
        factor = IncrementalityFactor.objects.get(network="walmart", placement="", campaign="")
        assert factor.source.startswith(f"experiment {experiment.pk}: walmart on/off")


def test_a_switchback_without_an_effect_cannot_tell_it_from_zero(acme, walmart_history):
    with schema_context("acme"):
        experiment = switchback_over_the_last_24_days(walmart_history)

        readout = experiment_readout(experiment, readout_params({}, kind="switchback"))

    [cell] = readout["cells"]
    assert cell["interval"][0] < 0 < cell["interval"][1] and not cell["significant"]
    assert "cannot tell the lift from zero" in readout["verdict"]
    assert readout["calibration"]["updated"] is False


def test_a_method_is_only_for_geo_readouts(acme, walmart_history):
    with schema_context("acme"):
        experiment = switchback_over_the_last_24_days(walmart_history)
    client = api_client_for(acme, username="acme-analyst")

    refused = client.post(f"/api/v1/experiments/{experiment.pk}/readout", {"method": "synthetic"}, format="json")

    assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "method"
