"""Reading tenants and API keys; the one place that decides whether a key belongs to a tenant."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.models import ApiKey, Tenant


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant)


def api_key_for_tenant(*, tenant: Tenant, key_id: str) -> ApiKey:
    """The key with this id if `tenant` owns it; the same not-found error whether it is missing or not yours."""
    key = ApiKey.objects.filter(tenant=tenant, key_id=key_id).first()
    if key is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return key
