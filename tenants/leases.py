"""Leases between a retailer and a brand: granting, revoking, and the one check every cross-tenant use goes
through (`lease_for_use`). A lease names the clean-room views and agents a brand may use, its privacy terms (k,
differential privacy and an ε budget) and its pricing; an expired or revoked lease is refused at the first use."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from governance.audit.services import audit_record
from tenants.models import Lease, LeaseQuery, Tenant, TenantKind

CLEAN_ROOM_VIEWS = ("exposures", "purchases", "segments")
AGENTS = ("planner", "budget", "measurement", "creative", "governance", "ops")
MIN_K = 10  # below this, "aggregate" stops meaning anything; a retailer's policy may ask for more
NOT_YOURS = "No such lease for this tenant."


class LeaseError(ValueError):
    def __init__(self, field: str, message: str, *, status: int = 400, code: str = "invalid_request") -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status, self.code = field, message, status, code


def lease_grant(*, retailer: Tenant, actor: str, data: Any) -> Lease:
    """A retailer grants a brand a lease (validated whole; nothing is written on bad input)."""
    if retailer.kind != TenantKind.RETAILER:
        raise LeaseError("retailer", "only a retailer can grant leases", status=403, code="forbidden")
    if not isinstance(data, dict):
        raise LeaseError("request", "must be a JSON object")
    brand = Tenant.objects.filter(slug=data.get("brand"), kind=TenantKind.BRAND).first()
    if brand is None:
        raise LeaseError("brand", f"no brand tenant {data.get('brand')!r}")
    views = _choices(data, "views", CLEAN_ROOM_VIEWS, default=list(CLEAN_ROOM_VIEWS))
    agents = _choices(data, "agents", AGENTS, default=[])
    k = _integer(data, "k", default=50, low=MIN_K)
    dp = data.get("dp", False)
    if not isinstance(dp, bool):
        raise LeaseError("dp", "must be true or false")
    budget = _positive(data, "epsilon_budget", default=1.0 if dp else 0.0, allow_zero=not dp)
    per_query = _positive(data, "epsilon_per_query", default=0.1)
    if dp and per_query > budget:
        raise LeaseError("epsilon_per_query", f"must be at most the budget ({budget})")
    _within_policy(retailer, views, k=k, dp=dp, per_query=per_query)
    days = _integer(data, "days", default=90, low=1)
    fee = _money(data, "fixed_fee")
    share = _money(data, "incremental_share")
    if share > 1:
        raise LeaseError("incremental_share", "must be a share between 0 and 1")
    with transaction.atomic():
        lease = Lease.objects.create(
            retailer=retailer, brand=brand, views=views, agents=agents, k=k, dp=dp, epsilon_budget=budget,
            epsilon_per_query=per_query, expires_at=timezone.now() + dt.timedelta(days=days), fixed_fee=fee,
            incremental_share=share, created_by=actor)
        audit_record(actor=actor, action="lease.grant", object_type="lease", object_id=str(lease.pk),
                     details={"brand": brand.slug, "views": views, "k": k, "dp": dp, "epsilon_budget": budget})
    return lease


def lease_revoke(*, retailer: Tenant, lease: Lease, actor: str) -> Lease:
    if lease.retailer_id != retailer.pk:
        raise LeaseError("lease", "only the retailer that granted a lease can revoke it", status=403,
                         code="forbidden")
    if lease.revoked_at is not None:
        raise LeaseError("lease", f"was already revoked on {lease.revoked_at:%Y-%m-%d %H:%M}", status=409,
                         code="lease_revoked")
    with transaction.atomic():
        lease.revoked_at = timezone.now()
        lease.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=actor, action="lease.revoke", object_type="lease", object_id=str(lease.pk),
                     details={"brand": lease.brand.slug})
    return lease


def lease_for_use(*, lease_id: Any, brand: Tenant, lock: bool = False, agent: str | None = None) -> Lease:
    """The brand's lease, if it may be used now: not another tenant's, not revoked, not expired — and, when an
    agent is the one using it, granted to that agent (a person using it directly needs no agent grant)."""
    if isinstance(lease_id, bool) or not isinstance(lease_id, int):
        raise LeaseError("lease", "must be the id of one of your leases")
    leases = Lease.objects.select_related("retailer", "brand")
    lease = (leases.select_for_update() if lock else leases).filter(pk=lease_id, brand=brand).first()
    if lease is None:
        raise LeaseError("lease", f"no lease {lease_id} is held by {brand.slug}", status=404, code="not_found")
    if lease.revoked_at is not None:
        raise LeaseError("lease", f"lease {lease.pk} was revoked by {lease.retailer.name} on "
                                  f"{lease.revoked_at:%Y-%m-%d}", status=403, code="lease_revoked")
    if lease.expires_at <= timezone.now():
        raise LeaseError("lease", f"lease {lease.pk} expired on {lease.expires_at:%Y-%m-%d}", status=403,
                         code="lease_expired")
    if agent is not None and agent not in lease.agents:
        granted = ", ".join(lease.agents) or "none"
        raise LeaseError("agent", f"the {agent} agent may not work under lease {lease.pk}; it grants: {granted}",
                         status=403, code="agent_not_leased")
    return lease


def lease_active(*, brand: Tenant, retailer: Tenant) -> Lease | None:
    """A lease from this retailer that the brand holds in force now (not revoked, not expired; the one that runs
    longest), or None. Grants that need no particular view or agent (using a retailer's adapters) ask only this."""
    return (Lease.objects.filter(brand=brand, retailer=retailer, revoked_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-expires_at", "-pk").first())


def lease_list(*, tenant: Tenant) -> QuerySet[Lease]:
    """A retailer's granted leases, or a brand's held ones, newest first; nobody else's."""
    side = {"retailer": tenant} if tenant.kind == TenantKind.RETAILER else {"brand": tenant}
    return Lease.objects.filter(**side).select_related("retailer", "brand").order_by("-created_at")


def lease_for_tenant(*, tenant: Tenant, lease_id: int) -> Lease:
    """A lease either side of it may read: the same not-found error whether it is missing or not yours."""
    lease = lease_list(tenant=tenant).filter(pk=lease_id).first()
    if lease is None:
        raise LeaseError("lease", NOT_YOURS, status=404, code="not_found")
    return lease


def epsilon_spent(lease: Lease) -> float:
    return float(LeaseQuery.objects.filter(lease=lease).aggregate(total=Sum("epsilon"))["total"] or 0.0)


def lease_summary(lease: Lease) -> dict:
    spent = epsilon_spent(lease) if lease.dp else 0.0
    return {
        "id": lease.pk, "retailer": lease.retailer.slug, "brand": lease.brand.slug, "views": lease.views,
        "agents": lease.agents, "k": lease.k, "dp": lease.dp, "epsilon_budget": lease.epsilon_budget,
        "epsilon_per_query": lease.epsilon_per_query, "epsilon_spent": spent,
        "epsilon_left": max(0.0, lease.epsilon_budget - spent) if lease.dp else None,
        "expires_at": lease.expires_at.isoformat(),
        "revoked_at": lease.revoked_at.isoformat() if lease.revoked_at else None,
        "active": lease.revoked_at is None and lease.expires_at > timezone.now(),
        "fixed_fee": str(lease.fixed_fee), "incremental_share": str(lease.incremental_share),
        "queries": LeaseQuery.objects.filter(lease=lease).count(),
    }


def _within_policy(retailer: Tenant, views: list[str], *, k: int, dp: bool, per_query: float) -> None:
    """The retailer's own data-access rules bind its grants: k at least their k_min, DP where they require it,
    ε per query at most their epsilon_max, for every view granted (the strictest rule wins). Without an active
    policy set the catalogue's strict defaults apply."""
    from governance.policies.selectors import data_access_rules

    rules = data_access_rules(retailer)
    terms = [rules["views"].get(view, rules["default"]) for view in views]
    cited = sorted({f"{rule_id} v{version}" for t in terms for rule_id, version in t.get("rules", [])})
    source = f"{retailer.name}'s data-access policy" + (f" ({', '.join(cited)})" if cited else " (defaults)")
    k_min = max([MIN_K, *[t["k_min"] or MIN_K for t in terms]])
    if k < k_min:
        raise LeaseError("k", f"must be at least {k_min} for these views under {source}")
    if not dp and any(t["dp_required"] for t in terms):
        raise LeaseError("dp", f"{source} requires differential privacy for these views")
    caps = [t["epsilon_max"] for t in terms if t["epsilon_max"] is not None]
    if dp and caps and per_query > min(caps):
        raise LeaseError("epsilon_per_query", f"must be at most {min(caps)} under {source}")


def _choices(data: dict, name: str, allowed: tuple[str, ...], *, default: list[str]) -> list[str]:
    value = data.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LeaseError(name, f"must be a list, some of {', '.join(allowed)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise LeaseError(name, f"unknown {unknown[0]!r}; use some of {', '.join(allowed)}")
    return sorted(set(value))


def _integer(data: dict, name: str, *, default: int, low: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LeaseError(name, f"must be a whole number of at least {low}")
    return value


def _positive(data: dict, name: str, *, default: float, allow_zero: bool = False) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (value == 0 and not allow_zero):
        raise LeaseError(name, "must be a positive number")
    return float(value)


def _money(data: dict, name: str) -> Decimal:
    value = data.get(name, "0")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise LeaseError(name, "must be an amount") from None
    if isinstance(value, bool) or not amount.is_finite() or amount < 0:
        raise LeaseError(name, "must be an amount of at least 0")
    return amount
