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
