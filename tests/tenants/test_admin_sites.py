"""Platform staff run the platform admin on the public domain; tenant admins run their own schema's admin."""

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from tests.conftest import page_client_for


def test_platform_admin_sees_the_tenant_registry(platform):
    # given platform staff on the public domain
    client = page_client_for(platform, username="platform-admin")

    # when / then
    response = client.get("/admin/tenants/tenant/")
    assert response.status_code == 200
    assert b"Acme Foods" in response.content and b"MegaMart" in response.content


def test_tenant_admin_runs_the_admin_of_their_own_schema(acme):
    # given acme's admin on acme's domain
    client = page_client_for(acme, username="acme-admin")

    # when they list users
    response = client.get("/admin/accounts/user/")

    # then they see acme's users and no one else's, and the tenant registry is not there at all
    assert response.status_code == 200
    assert b"acme-analyst" in response.content
    assert b"megamart-analyst" not in response.content
    assert client.get("/admin/tenants/tenant/").status_code == 404


def test_tenant_admin_sees_only_their_own_api_keys(acme, megamart):
    # given a key in each tenant
    from tenants.services import api_key_create

    api_key_create(tenant=acme, name="acme-ci", role="viewer", actor="test")
    api_key_create(tenant=megamart, name="megamart-ci", role="viewer", actor="test")

    # when acme's admin lists keys in the admin
    response = page_client_for(acme, username="acme-admin").get("/admin/tenants/apikey/")

    # then
    assert b"acme-ci" in response.content
    assert b"megamart-ci" not in response.content


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
def test_non_admins_cannot_enter_the_tenant_admin(acme, username):
    response = page_client_for(acme, username=username).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_seed_demo_is_idempotent(acme):
    # given the seeded database
    from tenants.accounts.models import User
    from tenants.models import Domain, Tenant

    def counts():
        with schema_context("acme"):
            users = User.objects.count()
        return Tenant.objects.count(), Domain.objects.count(), users

    before = counts()

    # when seeding again
    call_command("seed_demo", "--no-data", stdout=open("/dev/null", "w"))  # noqa: SIM115

    # then nothing new exists
    assert counts() == before == (3, 3, 3)
