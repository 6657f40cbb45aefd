"""Adapter fixtures: a fresh artifact store and signing key per test, and the extra tenants the access rules need
(no schemas: the adapter registry and leases are public)."""

from __future__ import annotations

import pytest

from tenants.models import Tenant


@pytest.fixture(autouse=True)
def adapter_store(settings, tmp_path):
    settings.RMN_ADAPTER_DIR = tmp_path / "adapters"
    settings.RMN_ADAPTER_SIGNING_KEY = ""
    settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT = tmp_path / "adapter_signing_key.pem"
    return settings.RMN_ADAPTER_DIR


def _schemaless(slug: str, name: str, kind: str) -> Tenant:
    tenant = Tenant(schema_name=slug, slug=slug, name=name, kind=kind)
    tenant.auto_create_schema = False
    tenant.save()
    return tenant


@pytest.fixture
def globex(db):
    """Another brand."""
    return _schemaless("globex", "Globex", "brand")


@pytest.fixture
def othermart(db):
    """Another retailer."""
    return _schemaless("othermart", "OtherMart", "retailer")
