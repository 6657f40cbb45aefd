"""POST/GET /api/v1/experiments: geo designs ranked from the tenant's regional sales, stored with a schedule;
overlaps refused; bad input named."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from tests.conftest import api_client_for, audit_rows

DESIGN = {"name": "West test", "retailer": "walmart", "n_treated": 2, "test_days": 14, "iroas": 1.5,
          "lift": 0.1}


def post(tenant, body: dict, username: str = "acme-analyst"):
    return api_client_for(tenant, username=username).post("/api/v1/experiments", body, format="json")


def test_a_geo_design_is_ranked_stored_with_its_schedule_and_audited(acme, walmart_history):
    response = post(acme, {**DESIGN, "include": ["US-W"], "exclude": ["US-TX"]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/experiments/{body['id']}"
    [cell] = body["treated"]
    assert "US-W" in cell and len(cell) == 2
    assert "US-TX" not in cell + body["control"] and body["excluded"] == ["US-TX"]
    assert set(cell) | set(body["control"]) | {"US-TX"} == set(walmart_history["sales"]["regions"])
    # the test starts the day after the data ends, after a pre-period of the data it has
    end = dt.date.fromisoformat(walmart_history["end"])
    assert body["start_date"] == (end + dt.timedelta(days=1)).isoformat()
    assert body["end_date"] == (end + dt.timedelta(days=14)).isoformat()
    assert body["pre_to"] == walmart_history["end"]
    # the chosen design ranks first, with its MDE, power, fit, cost and imbalance; the others are kept
    design = body["design"]
    assert design["score"] <= min(a["score"] for a in body["alternatives"])
    assert 0 < design["mde"] < 1 and 0 < design["power_at_lift"] < 1 and design["expected_cost"] > 0
    assert [step["action"] for step in body["schedule"]] == ["start", "end", "readout"]
    [row] = audit_rows(acme, action="experiment.create")
    assert row.object_id == str(body["id"])
    listed = api_client_for(acme, username="acme-viewer").get("/api/v1/experiments").json()
    assert [e["id"] for e in listed["results"]] == [body["id"]]


def test_an_experiment_on_the_same_regions_and_dates_is_refused(acme, walmart_history):
    first = post(acme, DESIGN).json()
    regions = first["treated"][0] + first["control"]

    clash = post(acme, {**DESIGN, "name": "second"})

    assert clash.status_code == 409
    error = clash.json()["error"]
    assert error["code"] == "overlapping_experiment" and error["details"]["experiment"] == first["id"]
    assert set(error["details"]["regions"]) <= set(regions)
    with schema_context("acme"):
        assert Experiment.objects.count() == 1
    # later dates do not clash
    later = dt.date.fromisoformat(first["end_date"]) + dt.timedelta(days=1)
    assert post(acme, {**DESIGN, "start_date": later.isoformat()}).status_code == 201


@pytest.mark.parametrize(("body", "field", "status"), [
    ({**DESIGN, "kind": "lottery"}, "kind", 400),
    ({**DESIGN, "kind": "switchback"}, "network", 400),
    ({**DESIGN, "retailer": "nowhere"}, "retailer", 400),
    ({**DESIGN, "n_treated": 0}, "n_treated", 400),
    ({**DESIGN, "n_treated": 8}, "n_treated", 400),
    ({**DESIGN, "include": ["Mars"]}, "include", 400),
    ({**DESIGN, "start_date": "2020-01-01"}, "start_date", 400),
    ({**DESIGN, "choose": 99}, "choose", 400),
    ({**DESIGN, "pre_days": 10}, "pre", 400),
])
def test_bad_designs_are_refused_naming_the_field_and_store_nothing(acme, walmart_history, body, field, status):
    response = post(acme, body)

    assert response.status_code == status, response.content
    assert response.json()["error"]["details"]["field"] == field
    with schema_context("acme"):
        assert not Experiment.objects.exists()


def test_cancelling_frees_the_regions_and_dates_and_only_once(acme, walmart_history):
    first = post(acme, DESIGN).json()
    client = api_client_for(acme, username="acme-analyst")

    cancelled = client.post(f"/api/v1/experiments/{first['id']}/cancel")
    again = client.post(f"/api/v1/experiments/{first['id']}/cancel")
    viewer = api_client_for(acme, username="acme-viewer").post(f"/api/v1/experiments/{first['id']}/cancel")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"
    assert viewer.status_code == 403
    assert post(acme, {**DESIGN, "name": "second"}).status_code == 201
    [row] = audit_rows(acme, action="experiment.cancel")
    assert row.object_id == str(first["id"])


def test_viewers_cannot_design_experiments(acme, walmart_history):
    assert post(acme, DESIGN, username="acme-viewer").status_code == 403
