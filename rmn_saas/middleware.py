"""Request ids on every request and response, and the Prometheus request metrics."""

from __future__ import annotations

import re
import time
import uuid

from django.http import JsonResponse

from rmn_saas import metrics
from rmn_saas.request_context import reset_request_id, set_request_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class HealthCheckMiddleware:
    """Answers /healthz on any host (load balancers probe by IP, before any tenant is known)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return JsonResponse({"status": "ok"})
        return self.get_response(request)


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID from the caller (for tracing across systems) or makes one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = set_request_id(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request.request_id
        return response


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route name, not the path: paths carry ids and would explode label cardinality.
        view = match.view_name if match and match.view_name else "unmatched"
        tenant = getattr(request, "tenant", None)
        metrics.observe_request(
            method=request.method,
            view=view,
            status=response.status_code,
            tenant=tenant.schema_name if tenant is not None else "none",
            seconds=time.perf_counter() - started,
        )
        return response
