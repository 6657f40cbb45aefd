"""POST /api/v1/governance/scan: the governance agent's check of a text, a plan or an export (governance/scan.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.scan import ScanError, scan
from rmn_saas.errors import ApiError
from tenants.permissions import AnyRole


class GovernanceScanApi(APIView):
    """Any role: nothing is written. {"kind": "text", "text": ..., "retailer"?, "placement"?, "category"?,
    "brand"?} | {"kind": "plan", "plan": {...}} | {"kind": "export", "export": "csv text" | {columns, rows}, "k"?}."""

    permission_classes = [AnyRole]

    @extend_schema(request=dict, responses={200: dict},
                   summary="Scan a text, plan or export for PII, policy violations and k-anonymity problems")
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        kind = data.get("kind")
        k = data.get("k", 50)
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ApiError(status_code=400, code="invalid_request", message="k: must be a whole number of at least 2",
                           details={"field": "k"})
        context = {name: data.get(name) or "" for name in ("retailer", "placement", "category", "brand")}
        if not all(isinstance(value, str) for value in context.values()):
            raise ApiError(status_code=400, code="invalid_request", message="retailer, placement, category and brand "
                           "are names", details={"field": "retailer"})
        try:
            return Response(scan(kind, data.get(kind) if kind in ("text", "plan", "export") else None, k=k,
                                 **context))
        except ScanError as exc:
            raise ApiError(status_code=400, code="invalid_request", message=exc.message,
                           details={"field": exc.field}) from exc
