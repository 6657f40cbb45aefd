"""One audit row for every API call: who, which route, the status, and why it was refused if it was."""

from __future__ import annotations

import logging

from django.db import connection

from governance.audit.models import Outcome
from governance.audit.services import audit_record

logger = logging.getLogger(__name__)


def _outcome(status: int) -> str:
    if status < 400:
        return Outcome.SUCCESS
    if status in (401, 403):
        return Outcome.DENIED
    return Outcome.FAILURE


def _actor(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "actor", f"user:{user.username}")
    return "anonymous"


class ApiAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/v1/") and getattr(request, "tenant", None) is not None:
            self._record(request, response)
        return response

    def _record(self, request, response) -> None:
        match = getattr(request, "resolver_match", None)
        route = match.route if match else request.path[:100]
        details = {"method": request.method, "path": request.path[:300], "status": response.status_code}
        if reason := getattr(request, "rmn_auth_failure", None):
            details["auth_failure"] = reason
        if match and match.kwargs:
            details["ids"] = {key: str(value)[:100] for key, value in match.kwargs.items()}
        try:
            # The request may have switched schemas; the row belongs to the tenant whose domain was called.
            if connection.schema_name != request.tenant.schema_name:
                connection.set_tenant(request.tenant)
            audit_record(
                actor=_actor(request), action=f"api.{request.method.lower()}", outcome=_outcome(response.status_code),
                object_type="route", object_id=route, request_id=request.request_id,
                ip=request.META.get("REMOTE_ADDR"), details=details,
            )
        except Exception:
            # An audit failure must be loud in the logs, but the caller's answer is already decided.
            logger.exception("could not write the API audit row for %s", request.path)
