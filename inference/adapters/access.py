"""Who may use which adapter: `adapter_usable` decides, and everything else (API, router, generation) asks it.

A tenant uses its own adapters (approved ones; its drafts too, to evaluate them before approval), the platform's
approved task adapters, and a retailer's approved adapters when the retailer published them to every brand or the
brand holds an active lease from that retailer. Never a retired adapter, never another brand's, never another
tenant's draft. Within a retailer context, only that retailer's retailer adapters fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from rest_framework.exceptions import NotFound

from inference.adapters.models import Adapter, AdapterKind, AdapterStatus
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.leases import LeaseError, lease_active, lease_for_use
from tenants.models import Lease, Tenant, TenantKind

OWN = "own adapter"
OWN_DRAFT = "own draft, usable for evaluation (the router picks approved adapters only)"
TASK = "platform task adapter for task {task!r}"
PUBLISHED = "published by {retailer} to every brand"
LEASED = "under lease {lease} from {retailer}, active until {until:%Y-%m-%d}"
RETIRED = "retired"
NOT_APPROVED = "not approved"
OTHER_RETAILER = "an adapter of {owner}, not of {retailer} whose context this is"
NOT_SHARED = "not shared with {tenant}"
NO_LEASE = "not published, and {brand} holds no lease from {retailer}"
LEASE_ENDED = "not published, and {lease}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def adapter_usable(*, tenant: Tenant, adapter: Adapter, retailer: Tenant | None = None) -> Decision:
    """May `tenant` use `adapter` (in the context of `retailer`, when one is given)? The reason says why or why not."""
    if adapter.status == AdapterStatus.RETIRED:
        return Decision(False, RETIRED)
    if adapter.kind == AdapterKind.RETAILER and retailer is not None and adapter.owner_id != retailer.pk:
        return Decision(False, OTHER_RETAILER.format(owner=adapter.owner.name, retailer=retailer.name))
    if adapter.owner_id == tenant.pk:
        return Decision(True, OWN if adapter.status == AdapterStatus.APPROVED else OWN_DRAFT)
    if adapter.status != AdapterStatus.APPROVED:
        return Decision(False, NOT_APPROVED)
    owner = adapter.owner
    if adapter.kind == AdapterKind.TASK and owner.kind == TenantKind.PLATFORM:
        return Decision(True, TASK.format(task=adapter.task))
    if adapter.kind != AdapterKind.RETAILER or owner.kind != TenantKind.RETAILER or tenant.kind != TenantKind.BRAND:
        return Decision(False, NOT_SHARED.format(tenant=tenant.name))
    if adapter.published:
        return Decision(True, PUBLISHED.format(retailer=owner.name))
    return _under_lease(brand=tenant, retailer=owner)


def _under_lease(*, brand: Tenant, retailer: Tenant) -> Decision:
    lease = lease_active(brand=brand, retailer=retailer)
    if lease is not None:
        return Decision(True, LEASED.format(lease=lease.pk, retailer=retailer.name, until=lease.expires_at))
    latest = Lease.objects.filter(brand=brand, retailer=retailer).order_by("-created_at", "-pk").first()
    if latest is None:
        return Decision(False, NO_LEASE.format(brand=brand.name, retailer=retailer.name))
    # The lease check itself says why the latest lease is not in force (revoked or expired, and when).
    try:
        lease_for_use(lease_id=latest.pk, brand=brand)
    except LeaseError as exc:
        return Decision(False, LEASE_ENDED.format(lease=exc.message))
    return Decision(True, LEASED.format(lease=latest.pk, retailer=retailer.name, until=latest.expires_at))


def _candidates(tenant: Tenant):
    """A superset of the adapters `tenant` may see, narrowed in SQL; `adapter_usable` decides on each."""
    shared = Q(status=AdapterStatus.APPROVED) & (
        Q(kind=AdapterKind.TASK, owner__kind=TenantKind.PLATFORM)
        | Q(kind=AdapterKind.RETAILER, owner__kind=TenantKind.RETAILER))
    return Adapter.objects.filter(Q(owner=tenant) | shared).select_related("owner")


def _get(adapter_id: Any) -> Adapter | None:
    if isinstance(adapter_id, bool) or not isinstance(adapter_id, int):
        return None
    return Adapter.objects.select_related("owner").filter(pk=adapter_id).first()


def adapter_for_use(*, tenant: Tenant, adapter_id: Any, retailer: Tenant | None = None) -> Adapter:
    """The adapter, if `tenant` may use it; the same not-found error whether it is missing or not usable."""
    adapter = _get(adapter_id)
    if adapter is None or not adapter_usable(tenant=tenant, adapter=adapter, retailer=retailer).allowed:
        raise NotFound(NOT_FOUND_MESSAGE)
    return adapter


def adapter_visible(*, tenant: Tenant, adapter_id: Any) -> tuple[Adapter, Decision]:
    """An adapter `tenant` may read: its own (even retired) or one it may use; not-found otherwise, as if missing."""
    adapter = _get(adapter_id)
    if adapter is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    decision = adapter_usable(tenant=tenant, adapter=adapter)
    if not decision.allowed and adapter.owner_id != tenant.pk:
        raise NotFound(NOT_FOUND_MESSAGE)
    return adapter, decision


def adapter_of_owner(*, tenant: Tenant, adapter_id: Any) -> Adapter:
    """One of `tenant`'s own adapters, to manage; anyone else's is as missing as a missing one."""
    adapter = _get(adapter_id)
    if adapter is None or adapter.owner_id != tenant.pk:
        raise NotFound(NOT_FOUND_MESSAGE)
    return adapter


def adapters_visible(*, tenant: Tenant) -> list[tuple[Adapter, Decision]]:
    """Every adapter `tenant` may read (its own and the ones it may use), newest first, each with the reason."""
    visible = []
    for adapter in _candidates(tenant).order_by("-created_at", "-pk"):
        decision = adapter_usable(tenant=tenant, adapter=adapter)
        if decision.allowed or adapter.owner_id == tenant.pk:
            visible.append((adapter, decision))
    return visible
