"""API authentication: tenant API keys and JWTs that name their tenant. Both refuse any other tenant's domain."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from tenants.models import ApiKey, Role, api_key_hash

INVALID_API_KEY = "Invalid or revoked API key."
WRONG_TENANT_TOKEN = "This token belongs to another tenant."  # noqa: S105 - a message, not a secret
TENANT_CLAIM = "tenant"


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Who is calling when a request carries an API key: the key itself, with the key's role."""

    api_key_id: str
    name: str
    role: str
    tenant_id: int

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @property
    def username(self) -> str:
        return f"api-key:{self.name}"

    @property
    def actor(self) -> str:
        return f"api_key:{self.api_key_id}"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.ANALYST)

    @property
    def is_tenant_admin(self) -> bool:
        return self.role == Role.ADMIN


def _refuse(request, reason: str, message: str):
    # Remembered so the audit row says why the call was refused.
    request._request.rmn_auth_failure = reason
    raise exceptions.AuthenticationFailed(message)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode(errors="replace").lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            _refuse(request, "malformed_api_key", INVALID_API_KEY)
        full = parts[1].decode(errors="replace")
        # The secret is urlsafe base64 and may itself contain "_": only the first two separate the parts.
        pieces = full.split("_", 2)
        if len(pieces) != 3:
            _refuse(request, "malformed_api_key", INVALID_API_KEY)
        key = ApiKey.objects.filter(key_id=pieces[1]).first()
        if key is None or key.key_hash != api_key_hash(full):
            _refuse(request, "unknown_api_key", INVALID_API_KEY)
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or key.tenant_id != tenant.id:
            _refuse(request, "api_key_of_other_tenant", INVALID_API_KEY)
        if not key.is_active:
            _refuse(request, "revoked_api_key", INVALID_API_KEY)
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return ApiKeyPrincipal(api_key_id=key.key_id, name=key.name, role=key.role, tenant_id=key.tenant_id), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class TenantJWTAuthentication(JWTAuthentication):
    """simplejwt, plus: a token is only good on the domain of the tenant it was issued for."""

    def get_validated_token(self, raw_token):
        try:
            token = super().get_validated_token(raw_token)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed("Invalid or expired token.") from exc
        if token.get(TENANT_CLAIM) != connection.schema_name:
            raise exceptions.AuthenticationFailed(WRONG_TENANT_TOKEN)
        return token

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            reason = "jwt_of_other_tenant" if str(exc.detail) == WRONG_TENANT_TOKEN else "invalid_jwt"
            request._request.rmn_auth_failure = reason
            raise
        except TokenError as exc:
            request._request.rmn_auth_failure = "invalid_jwt"
            raise exceptions.AuthenticationFailed("Invalid or expired token.") from exc
