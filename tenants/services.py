"""Writing tenants, users and API keys. Every change here is audited."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from governance.audit.services import audit_record
from rmn_saas.errors import ApiError
from tenants.accounts.models import User
from tenants.models import ApiKey, Domain, Role, Tenant, TenantKind, api_key_generate
from tenants.selectors import api_key_for_tenant

API_KEY_NAME_TAKEN = "An API key with this name already exists."
API_KEY_ALREADY_REVOKED = "This API key is already revoked."


def tenant_domain(*, slug: str, base_domain: str) -> str:
    return base_domain if slug == "public" else f"{slug}.{base_domain}"


def tenant_ensure(*, slug: str, name: str, kind: str, base_domain: str) -> Tenant:
    """Create the tenant, its schema and its primary domain unless they exist (idempotent)."""
    schema = "public" if kind == TenantKind.PLATFORM else slug.replace("-", "_")
    tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None:
        tenant = Tenant(schema_name=schema, slug=slug, name=name, kind=kind)
        tenant.save()  # creates and migrates the schema
    domain = tenant_domain(slug="public" if kind == TenantKind.PLATFORM else slug, base_domain=base_domain)
    Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def user_ensure(*, tenant: Tenant, username: str, password: str, role: str, email: str = "") -> User:
    """Create a user in the tenant's schema unless one with that name exists (idempotent)."""
    with schema_context(tenant.schema_name):
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user
        is_admin = role == Role.ADMIN
        # Tenant admins run the Django admin of their own schema only, where they may see everything.
        return User.objects.create_user(
            username=username, password=password, email=email, role=role,
            is_staff=is_admin, is_superuser=is_admin,
        )


@transaction.atomic
def api_key_create(*, tenant: Tenant, name: str, role: str, actor: str) -> tuple[ApiKey, str]:
    """A new key for `tenant`; the full key is returned once here and never stored."""
    name = name.strip()
    if ApiKey.objects.filter(tenant=tenant, name=name).exists():
        raise ApiError(
            status_code=400, code="invalid", message=API_KEY_NAME_TAKEN, details={"name": API_KEY_NAME_TAKEN}
        )
    full, key_id, key_hash = api_key_generate()
    key = ApiKey.objects.create(tenant=tenant, name=name, role=role, key_id=key_id, key_hash=key_hash,
                                created_by=actor)
    audit_record(actor=actor, action="api_key.create", object_type="api_key", object_id=key_id,
                 details={"name": name, "role": role})
    return key, full


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key_id: str, actor: str) -> ApiKey:
    key = api_key_for_tenant(tenant=tenant, key_id=key_id)
    if not key.is_active:
        raise ApiError(status_code=409, code="already_revoked", message=API_KEY_ALREADY_REVOKED)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at", "updated_at"])
    audit_record(actor=actor, action="api_key.revoke", object_type="api_key", object_id=key_id,
                 details={"name": key.name})
    return key
