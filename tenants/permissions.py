"""Role checks for the API: viewers read, analysts also write, admins also manage users and keys."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEWER_CANNOT_WRITE = "Your role can read but not change anything."
ADMIN_ONLY = "Only a tenant admin can do this."


def _authenticated(request) -> bool:
    user = request.user
    return bool(user is not None and user.is_authenticated and getattr(user, "role", None))


class RolePermission(BasePermission):
    """The default: any role may read; writing needs analyst or admin."""

    message = VIEWER_CANNOT_WRITE

    def has_permission(self, request, view) -> bool:
        if not _authenticated(request):
            return False
        return request.method in SAFE_METHODS or request.user.can_write


class IsTenantAdmin(BasePermission):
    message = ADMIN_ONLY

    def has_permission(self, request, view) -> bool:
        return _authenticated(request) and request.user.is_tenant_admin


class AnyRole(BasePermission):
    """Any role, for POSTs that only compute and write nothing (the question is a JSON body, not a query)."""

    def has_permission(self, request, view) -> bool:
        return _authenticated(request)
