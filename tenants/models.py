"""The tenant registry (public schema): tenants, their domains and their API keys."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from rmn_saas.base_models import BaseModel


class TenantKind(models.TextChoices):
    BRAND = "brand", "Brand"
    RETAILER = "retailer", "Retailer"
    PLATFORM = "platform", "Platform"


class Tenant(TenantMixin, BaseModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    kind = models.CharField(max_length=16, choices=TenantKind.choices)

    # Saving a new tenant creates and migrates its schema; deleting one never drops data silently.
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=TenantKind.values), name="tenant_kind_valid"
            ),
            # Only the public schema belongs to the platform, and it belongs to nobody else.
            models.CheckConstraint(
                condition=(models.Q(kind="platform") & models.Q(schema_name="public"))
                | (~models.Q(kind="platform") & ~models.Q(schema_name="public")),
                name="tenant_platform_is_public",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def is_platform(self) -> bool:
        return self.kind == TenantKind.PLATFORM


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"


API_KEY_PREFIX = "rmn"


def api_key_hash(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is as strong as a slow hash and much cheaper.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_generate() -> tuple[str, str, str]:
    """A new key as (full key shown once, lookup id, hash stored)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"{API_KEY_PREFIX}_{key_id}_{secret}"
    return full, key_id, api_key_hash(full)


class ApiKey(BaseModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_by = models.CharField(max_length=150)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="apikey_role_valid"),
            models.UniqueConstraint(fields=["tenant", "name"], name="apikey_name_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Lease(BaseModel):
    """A retailer's grant to a brand: which clean-room views and agents it may use, under which privacy terms
    (k, differential privacy and its ε budget), until when, and at what price. Everything a brand does in a
    retailer's enclave goes through one, and only aggregates come back."""

    retailer = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="leases_granted")
    brand = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="leases_held")
    views = models.JSONField(default=list)  # clean-room views the brand may query
    agents = models.JSONField(default=list)  # agents that may work in the retailer's enclave
    k = models.PositiveIntegerField(default=50)  # rows backed by fewer distinct users are suppressed
    dp = models.BooleanField(default=False)  # Laplace noise on every aggregate, charged to the budget
    epsilon_budget = models.FloatField(default=0.0)
    epsilon_per_query = models.FloatField(default=0.1)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    fixed_fee = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # per month
    incremental_share = models.DecimalField(max_digits=5, decimal_places=4, default=0)  # of measured incr. sales
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(k__gte=2), name="lease_k_at_least_2"),
            models.CheckConstraint(condition=models.Q(epsilon_budget__gte=0), name="lease_budget_not_negative"),
            models.CheckConstraint(condition=models.Q(epsilon_per_query__gt=0), name="lease_epsilon_positive"),
            models.CheckConstraint(condition=models.Q(incremental_share__gte=0) & models.Q(incremental_share__lte=1),
                                   name="lease_share_is_a_share"),
            models.CheckConstraint(condition=~models.Q(retailer=models.F("brand")), name="lease_between_two_tenants"),
        ]

    def __str__(self) -> str:
        return f"lease {self.pk}: {self.retailer.slug} → {self.brand.slug}"


class LeaseQuery(models.Model):
    """One clean-room query run under a lease: the metering, the privacy ledger and the retailer's record of
    what was asked. A repeated identical query is answered from here without spending ε again."""

    lease = models.ForeignKey(Lease, on_delete=models.PROTECT, related_name="queries")
    actor = models.CharField(max_length=150)
    sql = models.TextField()
    fingerprint = models.CharField(max_length=64)
    epsilon = models.FloatField(default=0.0)  # charged to the lease's budget (0 without DP or when repeated)
    rows_returned = models.PositiveIntegerField(default=0)
    rows_suppressed = models.PositiveIntegerField(default=0)
    answer = models.JSONField(default=dict)  # aggregates only: columns and rows as released
    repeated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["lease", "fingerprint"], name="leasequery_lease_fingerprint")]

    def __str__(self) -> str:
        return f"query {self.pk} under lease {self.lease_id}"
