"""/api/v1/audit: the tenant's audit log for its admins — filtered and paginated as JSON, or exported whole as CSV.
A retailer's log includes every clean-room query run under its leases (action cleanroom.query)."""

from __future__ import annotations

import csv
import datetime as dt
import json

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from governance.audit.models import Outcome
from governance.audit.selectors import audit_list
from rmn_saas.errors import ApiError
from rmn_saas.pagination import ListPagination
from tenants.permissions import IsTenantAdmin

EXPORT_COLUMNS = ("created_at", "actor", "action", "outcome", "object_type", "object_id", "request_id", "ip",
                  "details")


def _filtered(request):
    params = request.query_params
    outcome = params.get("outcome", "")
    if outcome and outcome not in Outcome.values:
        raise ApiError(status_code=400, code="invalid_request", message=f"outcome: one of {', '.join(Outcome.values)}",
                       details={"field": "outcome"})
    entries = audit_list(action=params.get("action", "")[:100], actor=params.get("actor", "")[:200], outcome=outcome,
                         request_id=params.get("request_id", "")[:64])
    for name, lookup in (("since", "created_at__date__gte"), ("until", "created_at__date__lte")):
        if params.get(name):
            try:
                entries = entries.filter(**{lookup: dt.date.fromisoformat(params[name])})
            except ValueError:
                raise ApiError(status_code=400, code="invalid_request", message=f"{name}: a date as YYYY-MM-DD",
                               details={"field": name}) from None
    return entries


def _row(entry) -> dict:
    return {"created_at": entry.created_at.isoformat(), "actor": entry.actor, "action": entry.action,
            "outcome": entry.outcome, "object_type": entry.object_type, "object_id": entry.object_id,
            "request_id": entry.request_id, "ip": entry.ip, "details": entry.details}


class AuditListApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(responses=dict, summary="The audit log, newest first (?action=&actor=&outcome=&since=&until=)")
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(_filtered(request), request, view=self)
        return paginator.get_paginated_response([_row(entry) for entry in page])


class AuditExportApi(APIView):
    permission_classes = [IsTenantAdmin]

    class _Echo:
        def write(self, value: str) -> str:
            return value

    @extend_schema(responses={200: str}, summary="The audit log as CSV, same filters, streamed")
    def get(self, request):
        entries = _filtered(request)
        writer = csv.writer(self._Echo())

        def rows():
            yield writer.writerow(EXPORT_COLUMNS)
            for entry in entries.iterator(chunk_size=2000):
                row = _row(entry)
                row["details"] = json.dumps(row["details"], sort_keys=True)
                yield writer.writerow([row[column] if row[column] is not None else "" for column in EXPORT_COLUMNS])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="audit-{request.tenant.slug}.csv"'
        return response
