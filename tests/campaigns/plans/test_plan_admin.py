"""The tenant admin for planning and measurement: factors are edited there; plans, curves, outcomes and
experiments are read-only records."""

from __future__ import annotations

from django_tenants.utils import schema_context

from campaigns.plans.models import IncrementalityFactor
from tests.conftest import page_client_for


def test_an_admin_records_a_lift_test_readout_as_an_incrementality_factor(acme):
    client = page_client_for(acme, username="acme-admin")

    saved = client.post("/admin/campaigns/incrementalityfactor/add/", {
        "network": "walmart", "placement": "carousel", "campaign": "", "factor": "0.72",
        "source": "geo test, Oct 2026", "note": ""})
    refused = client.post("/admin/campaigns/incrementalityfactor/add/", {
        "network": "walmart", "placement": "in_grid", "campaign": "", "factor": "1.4", "source": "typo", "note": ""})

    assert saved.status_code == 302
    assert refused.status_code == 200  # the form comes back: a factor above 1 violates the table's check
    with schema_context("acme"):
        assert list(IncrementalityFactor.objects.values_list("network", "placement", "factor")) == [
            ("walmart", "carousel", 0.72)]


def test_plans_curves_outcomes_and_experiments_are_read_only_in_the_admin(acme):
    client = page_client_for(acme, username="acme-admin")

    for model in ("plan", "responsecurve", "planoutcome", "experiment"):
        assert client.get(f"/admin/campaigns/{model}/").status_code == 200, model
        assert client.get(f"/admin/campaigns/{model}/add/").status_code == 403, model
