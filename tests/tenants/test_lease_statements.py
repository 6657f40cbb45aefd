"""A lease's monthly statement: fixed fee + the agreed share of the incremental sales the brand's significant
readouts measured at the retailer that month, with the readouts and usage shown to both sides."""

from __future__ import annotations

import datetime as dt

from django_tenants.utils import schema_context

from campaigns.measure.models import Experiment
from tenants.leases import lease_grant
from tests.conftest import api_client_for


def read_out(name: str, retailer: str, read_at: str, *cells: tuple[float, bool]) -> None:
    day = dt.date(2026, 10, 1)
    Experiment.objects.create(
        name=name, kind="geo", created_by="user:acme-analyst", retailer=retailer, start_date=day, end_date=day,
        pre_from=day, pre_to=day, status="read_out",
        readout={"read_at": read_at, "cells": [{"lift": 0.1, "interval": [0.02, 0.18] if significant else [-0.1, 0.3],
                                                "incremental_sales": sales, "significant": significant}
                                               for sales, significant in cells]})


def test_the_statement_is_the_fee_plus_the_share_of_what_significant_readouts_measured(acme, megamart):
    # given a lease at $2,500 a month plus 5% of measured incremental sales
    with schema_context("megamart"):
        lease = lease_grant(retailer=megamart, actor="user:megamart-admin",
                            data={"brand": "acme", "fixed_fee": "2500.00", "incremental_share": "0.05"})
    # and acme's readouts: at megamart in November (one significant cell, one not), at megamart in October and
    # at walmart in November
    with schema_context("acme"):
        read_out("megamart search", "megamart", "2026-11-20", (10_000.0, True), (5_000.0, False))
        read_out("megamart october", "megamart", "2026-10-30", (8_000.0, True))
        read_out("walmart", "walmart", "2026-11-10", (7_000.0, True))

    # when both sides ask for November's statement
    retailer_view = api_client_for(megamart, username="megamart-viewer").get(
        f"/api/v1/leases/{lease.pk}/statement?month=2026-11").json()
    brand_view = api_client_for(acme, username="acme-viewer").get(
        f"/api/v1/leases/{lease.pk}/statement?month=2026-11").json()

    # then it is $2,500 + 5% of $10,000, with the inputs shown
    assert retailer_view == brand_view
    assert (retailer_view["measured_incremental_sales"], retailer_view["performance_fee"], retailer_view["total"]) \
        == ("10000.00", "500.00", "3000.00")
    assert [(r["name"], r["incremental_sales"], r["counted"]) for r in retailer_view["readouts"]] == [
        ("megamart search", 10_000.0, True), ("megamart search", 5_000.0, False)]
    assert retailer_view["usage"] == {"queries": 0, "epsilon_spent": 0.0}


def test_a_bad_month_is_named(acme, megamart):
    with schema_context("megamart"):
        lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})

    response = api_client_for(acme, username="acme-viewer").get(f"/api/v1/leases/{lease.pk}/statement?month=2026-13")

    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "month"
