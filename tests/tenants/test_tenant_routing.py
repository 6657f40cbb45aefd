"""Which tenant a request reaches is decided by its host; unknown hosts are 404."""

import pytest

from tests.conftest import api_client_for, page_client_for


@pytest.mark.django_db
def test_unknown_tenant_domain_is_404_json_on_api_paths():
    # given a host that no tenant owns
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="nobody.localhost")

    # when
    response = client.get("/api/v1/me")

    # then
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "unknown_tenant", "message": "No tenant is served at this domain.",
                  "details": {"host": "nobody.localhost"}}
    }


@pytest.mark.django_db
def test_unknown_tenant_domain_is_404_on_pages():
    from django.test import Client

    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404


def test_tenant_domain_serves_login_page(acme):
    # when an anonymous visitor opens the brand's domain
    response = page_client_for(acme).get("/", follow=True)

    # then they land on the login page of that tenant
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b"Log in to Acme Foods" in response.content


def test_schema_is_served_on_every_tenant_domain(acme, megamart, platform):
    for tenant in (acme, megamart, platform):
        response = api_client_for(tenant).get("/api/schema/")
        assert response.status_code == 200, tenant.slug
        assert b"openapi: 3" in response.content


def test_dashboard_nav_differs_by_tenant_kind(acme, megamart):
    # given an analyst of a brand and one of a retailer
    brand = page_client_for(acme, username="acme-analyst").get("/")
    retailer = page_client_for(megamart, username="megamart-analyst").get("/")

    # then each sees its own workspace
    assert b"Brand workspace" in brand.content
    assert b"Retailer workspace" in retailer.content
    assert b"across every network you sell on" in brand.content
    assert b"Serve the brands on your network" in retailer.content
