"""POST /api/v1/experiments/power: the power math behind the API, on explicit inputs and the tenant's own sales."""

from __future__ import annotations

import pytest

from campaigns.measure import power as power_math
from tests.conftest import api_client_for


def ask(tenant, body: dict, username: str = "acme-viewer"):
    return api_client_for(tenant, username=username).post("/api/v1/experiments/power", body, format="json")


def test_a_conversion_rate_test_gets_power_sample_size_mde_and_a_curve(acme):
    body = {"kind": "proportion", "baseline": 0.02, "lift": 0.1, "n_per_arm": 40000}

    answer = ask(acme, body).json()  # a viewer may ask: nothing is written

    assert answer["power"] == pytest.approx(power_math.proportion_power(baseline=0.02, lift=0.1, n_per_arm=40000))
    assert answer["n_per_arm"] == power_math.proportion_sample_size(baseline=0.02, lift=0.1)
    assert answer["mde"] == pytest.approx(power_math.proportion_mde(baseline=0.02, n_per_arm=40000))
    powers = [point["power"] for point in answer["power_curve"]]
    assert powers == sorted(powers) and len(powers) == 9


def test_a_mean_test_with_only_a_sample_size_gets_its_mde(acme):
    answer = ask(acme, {"kind": "mean", "mean": 42.0, "sd": 30.0, "n_per_arm": 800, "alpha": 0.1}).json()

    assert set(answer) >= {"mde", "power_curve"} and "power" not in answer
    assert answer["mde"] == pytest.approx(power_math.mean_mde(mean=42.0, sd=30.0, n_per_arm=800, alpha=0.1))


@pytest.mark.parametrize(("body", "field"), [
    ({}, "kind"),
    ({"kind": "ab"}, "kind"),
    ({"kind": "proportion", "baseline": 1.5, "lift": 0.1}, "baseline"),
    ({"kind": "proportion", "baseline": 0.02, "lift": "big"}, "lift"),
    ({"kind": "proportion", "baseline": 0.02}, "lift"),
    ({"kind": "proportion", "baseline": 0.02, "n_per_arm": 0}, "n_per_arm"),
    ({"kind": "proportion", "baseline": 0.02, "lift": 0.1, "alpha": 1}, "alpha"),
    ({"kind": "proportion", "baseline": 0.02, "lift": 0.1, "power": 0.01}, "power"),
    ({"kind": "mean", "mean": 10, "sd": 0, "lift": 0.1}, "sd"),
    ({"kind": "mean", "mean": 0, "sd": 1, "lift": 0.1}, "mean"),
    ({"kind": "geo", "retailer": "nowhere", "treated": ["US-W"]}, "retailer"),
])
def test_bad_power_questions_are_400_naming_the_field(acme, body, field):
    response = ask(acme, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field


def test_a_geo_test_is_sized_from_the_tenants_own_regional_sales(acme, walmart_history):
    body = {"kind": "geo", "retailer": "walmart", "treated": ["US-W", "US-NE", "US-TX"], "test_days": 14,
            "lift": 0.1, "mde": 0.08, "budget": "5000", "iroas": 1.5}

    answer = ask(acme, body).json()

    assert answer["regions"] == sorted(walmart_history["sales"]["regions"])
    assert answer["pre_period"]["to"] == walmart_history["end"]
    assert 0 < answer["mde"] < 1 and 0 < answer["power"] < 1
    # the shortest test reaching an 8% MDE, whose MDE is indeed at most 8%, and a week less is not enough
    days = answer["duration_days"]
    curve = {point["days"]: point["mde"] for point in answer["duration_curve"]}
    assert curve[days] <= 0.08 < curve[days - 7]
    assert all(row["mde"] > 0 for row in answer["budget"]) and {row["reachable"] for row in answer["budget"]}


def test_geo_questions_about_unknown_regions_or_out_of_reach_mdes_say_so(acme, walmart_history):
    unknown = ask(acme, {"kind": "geo", "retailer": "walmart", "treated": ["Mars"], "test_days": 14})
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["field"] == "treated"

    too_small = ask(acme, {"kind": "geo", "retailer": "walmart", "treated": ["US-W"], "mde": 0.0001})

    assert too_small.status_code == 422
    error = too_small.json()["error"]
    assert error["code"] == "unreachable_mde" and error["details"]["best_mde"] > 0.0001
    assert "out of reach" in error["message"]


def test_a_geo_pre_period_too_short_says_how_many_days_it_needs(acme, walmart_history):
    response = ask(acme, {"kind": "geo", "retailer": "walmart", "treated": ["US-W"], "pre_days": 14,
                          "test_days": 14})

    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "pre"
    assert "21 days" in response.json()["error"]["message"]


def test_a_switchback_is_sized_from_the_retailers_daily_sales(acme, walmart_history):
    body = {"kind": "switchback", "retailer": "walmart", "block_days": 3, "washout_days": 1, "test_days": 24,
            "lift": 0.1}

    answer = ask(acme, body).json()
    duration = ask(acme, {**body, "test_days": None, "lift": 0.3}).json()

    assert answer["kind"] == "switchback" and 0 < answer["mde"] < 1 and 0 < answer["power"] < 1
    assert answer["pre_period"]["to"] == walmart_history["end"]
    mdes = [point["mde"] for point in answer["duration_curve"]]
    assert [point["days"] for point in answer["duration_curve"]][0] == 12 and mdes[-1] < mdes[0]
    assert duration["duration_days"] % 3 == 0


def test_a_holdout_is_sized_from_the_stated_audience(acme):
    audience = {"users": 200_000, "converters": 3_100, "days": 28}

    by_share = ask(acme, {"kind": "holdout", "audience": audience, "holdout_share": 0.1, "test_days": 28}).json()
    by_lift = ask(acme, {"kind": "holdout", "audience": audience, "lift": 0.2, "test_days": 28}).json()
    bad = ask(acme, {"kind": "holdout", "audience": {**audience, "converters": -1}, "test_days": 28})

    assert by_share["holdout_users"] == 20_000 and 0 < by_share["mde"] < 1
    assert by_lift["power_at_lift"] >= 0.8
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "audience"


def test_a_switchback_needs_a_duration_or_a_lift(acme, walmart_history):
    response = ask(acme, {"kind": "switchback", "retailer": "walmart"})

    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "test_days"
