"""A holdout test read out in the retailer's clean room: the exposed and held-out groups and their conversions are
counted with aggregate queries under the brand's lease (noised under DP), never stated by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from campaigns.measure.readout import experiment_readout, readout_params
from campaigns.measure.requests import MeasureRequestError
from governance.cleanroom.demo import generate
from tenants.leases import lease_grant
from tenants.models import LeaseQuery
from tests.conftest import api_client_for


@pytest.fixture
def demo(acme, megamart):
    with schema_context("megamart"):
        return generate(users=40_000)


def holdout(acme, truth) -> Experiment:
    start = dt.date.fromisoformat(truth["start"])
    body = {"kind": "holdout", "retailer": "megamart", "segment": "lapsed cereal buyers", "holdout_share": 0.1,
            "audience": {"users": 10_000, "converters": 800, "days": 60}, "test_days": truth["days"],
            "start_date": start.isoformat()}
    created = api_client_for(acme, username="acme-analyst").post("/api/v1/experiments", body, format="json")
    assert created.status_code == 201, created.content
    with schema_context("acme"):
        return Experiment.objects.get(pk=created.json()["id"])


def read_out(acme, experiment, lease, cereal):
    params = readout_params({"clean_room": {"lease": lease.pk, "campaign_id": cereal["campaign_id"],
                                            "gtins": cereal["gtins"]}}, kind="holdout")
    with schema_context("acme"):
        return experiment_readout(experiment, params)


def test_the_clean_room_counts_the_groups_and_the_lift_is_the_true_one(acme, megamart, demo):
    # given a lease and a holdout on the demo's cereal campaign (true lift known)
    with schema_context("megamart"):
        lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})
    cereal = next(c for c in demo["campaigns"] if c["campaign_id"] == "MM-CEREAL-Q4")
    experiment = holdout(acme, demo)

    # when it is read out in the clean room
    readout = read_out(acme, experiment, lease, cereal)

    # then the lift is within three standard errors of the truth, from aggregate queries on the record
    [cell] = readout["cells"]
    assert cell["source"] == "clean room" and readout["noise_sd"] == 0.0
    low, high = cell["interval"]
    half_width = (math.log1p(high) - math.log1p(low)) / 2
    assert abs(math.log1p(cell["lift"]) - math.log1p(cereal["period_lift"])) < 3 * half_width / 1.96
    assert cell["significant"] and readout["verdict"].startswith("The exposed users converted more")
    assert LeaseQuery.objects.filter(lease=lease).count() == 4


def test_under_dp_the_noise_is_in_the_interval(acme, megamart, demo):
    with schema_context("megamart"):
        plain = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})
        private = lease_grant(retailer=megamart, actor="user:megamart-admin",
                              data={"brand": "acme", "dp": True, "epsilon_budget": 4.0, "epsilon_per_query": 0.5})
    cereal = next(c for c in demo["campaigns"] if c["campaign_id"] == "MM-CEREAL-Q4")
    experiment = holdout(acme, demo)

    exact = read_out(acme, experiment, plain, cereal)
    noisy = read_out(acme, experiment, private, cereal)

    assert noisy["noise_sd"] > 0
    exact_width = exact["cells"][0]["interval"][1] - exact["cells"][0]["interval"][0]
    noisy_width = noisy["cells"][0]["interval"][1] - noisy["cells"][0]["interval"][0]
    assert noisy_width > exact_width


def test_a_bad_clean_room_reference_is_refused_before_a_job(acme, megamart, demo):
    experiment = holdout(acme, demo)
    with pytest.raises(MeasureRequestError) as raised:
        readout_params({"clean_room": {"lease": "three"}}, kind="holdout")
    assert raised.value.field == "clean_room"
    with pytest.raises(MeasureRequestError) as raised, schema_context("acme"):
        experiment_readout(experiment, readout_params(
            {"clean_room": {"lease": 999999, "campaign_id": "MM-CEREAL-Q4", "gtins": ["00041235944905"]}},
            kind="holdout"))
    assert raised.value.field == "clean_room" and raised.value.status == 404
