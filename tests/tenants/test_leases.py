"""Leases: a retailer admin grants a brand a lease (validated whole), both sides list it, the retailer revokes
it, and an expired or revoked lease is refused at its first use."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tenants.leases import LeaseError, lease_for_use
from tenants.models import Lease
from tests.conftest import api_client_for, audit_rows

GRANT = {"brand": "acme", "views": ["exposures", "purchases", "segments"], "agents": ["measurement"], "k": 50,
         "dp": True, "epsilon_budget": 2.0, "epsilon_per_query": 0.25, "days": 30, "fixed_fee": "5000.00",
         "incremental_share": "0.05"}


def grant(megamart, body=GRANT, username="megamart-admin"):
    return api_client_for(megamart, username=username).post("/api/v1/leases", body, format="json")


def test_a_retailer_admin_grants_a_lease_that_both_sides_see(acme, megamart):
    response = grant(megamart)

    assert response.status_code == 201, response.content
    lease = response.json()
    assert (lease["retailer"], lease["brand"], lease["k"], lease["dp"]) == ("megamart", "acme", 50, True)
    assert lease["epsilon_left"] == 2.0 and lease["fixed_fee"] == "5000.00" and lease["active"]
    held = api_client_for(acme, username="acme-viewer").get("/api/v1/leases").json()["results"]
    granted = api_client_for(megamart, username="megamart-viewer").get("/api/v1/leases").json()["results"]
    assert [x["id"] for x in held] == [x["id"] for x in granted] == [lease["id"]]
    [row] = audit_rows(megamart, action="lease.grant")
    assert row.object_id == str(lease["id"]) and row.details["brand"] == "acme"


@pytest.mark.parametrize(("body", "field"), [
    ({**GRANT, "brand": "megamart"}, "brand"),
    ({**GRANT, "views": ["exposures", "users"]}, "views"),
    ({**GRANT, "agents": ["hacker"]}, "agents"),
    ({**GRANT, "k": 3}, "k"),
    ({**GRANT, "epsilon_budget": 0}, "epsilon_budget"),
    ({**GRANT, "epsilon_per_query": 5.0}, "epsilon_per_query"),
    ({**GRANT, "incremental_share": "1.5"}, "incremental_share"),
    ({**GRANT, "fixed_fee": "lots"}, "fixed_fee"),
])
def test_a_bad_grant_names_its_field_and_writes_nothing(acme, megamart, body, field):
    response = grant(megamart, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field
    assert not Lease.objects.exists()


def test_only_a_retailers_admin_can_grant(acme, megamart):
    assert grant(megamart, username="megamart-analyst").status_code == 403
    from_brand = api_client_for(acme, username="acme-admin").post("/api/v1/leases", GRANT, format="json")
    assert from_brand.status_code == 403 and from_brand.json()["error"]["code"] == "forbidden"


def test_a_revoked_or_expired_lease_is_refused_at_first_use(acme, megamart):
    lease_id = grant(megamart).json()["id"]
    assert lease_for_use(lease_id=lease_id, brand=acme).pk == lease_id

    revoked = api_client_for(megamart, username="megamart-admin").post(f"/api/v1/leases/{lease_id}/revoke")
    again = api_client_for(megamart, username="megamart-admin").post(f"/api/v1/leases/{lease_id}/revoke")

    assert revoked.status_code == 200 and not revoked.json()["active"]
    assert again.status_code == 409
    with pytest.raises(LeaseError) as raised:
        lease_for_use(lease_id=lease_id, brand=acme)
    assert raised.value.code == "lease_revoked" and raised.value.status == 403

    Lease.objects.filter(pk=lease_id).update(revoked_at=None, expires_at=timezone.now() - dt.timedelta(days=1))
    with pytest.raises(LeaseError) as raised:
        lease_for_use(lease_id=lease_id, brand=acme)
    assert raised.value.code == "lease_expired"


def test_a_brand_cannot_revoke_and_nobody_else_sees_the_lease(acme, megamart):
    lease_id = grant(megamart).json()["id"]

    by_brand = api_client_for(acme, username="acme-admin").post(f"/api/v1/leases/{lease_id}/revoke")

    assert by_brand.status_code == 403
    with pytest.raises(LeaseError) as raised:
        lease_for_use(lease_id=lease_id + 1, brand=acme)
    assert raised.value.status == 404
