"""Role checks for pages, mirroring the API's: viewers read, analysts write, admins manage."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from tenants.permissions import VIEWER_CANNOT_WRITE

TENANT_PAGES_ONLY = "Tenant pages are served on tenant domains."
ADMIN_ONLY_PAGE = "Only a tenant admin can open this page."


def page(*, write: bool = False, admin: bool = False):
    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.tenant.is_platform:
                raise PermissionDenied(TENANT_PAGES_ONLY)
            if admin and not request.user.is_tenant_admin:
                raise PermissionDenied(ADMIN_ONLY_PAGE)
            if write and request.method == "POST" and not request.user.can_write:
                raise PermissionDenied(VIEWER_CANNOT_WRITE)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
