"""/api/v1/cleanroom: a brand's aggregate-only queries in a retailer's clean room under a lease, and what is left
of the lease's privacy budget. The query dialect is in governance/cleanroom/verify/; refusals name the clause and
the rule."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.cleanroom.services import CleanRoomError, audience_upload, clean_room_query
from rmn_saas.errors import ApiError
from tenants.leases import LeaseError, lease_for_use, lease_summary
from tenants.leases_api import lease_api_error


class CleanRoomQueryApi(APIView):
    """Analysts and admins of the brand holding the lease (a query may spend privacy budget)."""

    @extend_schema(request=dict, responses={200: dict},
                   summary="Run an aggregate query in a retailer's clean room under a lease")
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        try:
            answer = clean_room_query(brand=request.tenant, actor=request.user.actor, lease_id=data.get("lease"),
                                      sql=data.get("sql"))
        except CleanRoomError as exc:
            raise ApiError(status_code=exc.status, code=exc.code, message=exc.message, details=exc.details) from exc
        return Response(answer)


class CleanRoomBudgetApi(APIView):
    @extend_schema(responses=dict, summary="A held lease's privacy budget: spent and left (?lease=ID)")
    def get(self, request):
        raw = request.query_params.get("lease", "")
        try:
            lease = lease_for_use(lease_id=int(raw) if raw.isdigit() else raw, brand=request.tenant)
        except LeaseError as exc:
            raise lease_api_error(exc) from exc
        return Response(lease_summary(lease))


class CleanRoomAudienceApi(APIView):
    """Analysts and admins of the brand holding the lease upload a hashed audience to join in queries."""

    @extend_schema(request=dict, responses={201: dict}, summary="Upload a hashed audience for a lease")
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        try:
            stored = audience_upload(brand=request.tenant, actor=request.user.actor, lease_id=data.get("lease"),
                                     audience=data.get("audience"), user_keys=data.get("user_keys"))
        except CleanRoomError as exc:
            raise ApiError(status_code=exc.status, code=exc.code, message=exc.message, details=exc.details) from exc
        return Response(stored, status=201)
