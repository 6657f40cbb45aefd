"""/api/v1/leases: a retailer grants, lists and revokes leases and sees every query run under them; a brand lists
the leases it holds and what is left of their privacy budget."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from rmn_saas.errors import ApiError
from rmn_saas.pagination import ListPagination
from tenants.leases import (
    NOT_YOURS,
    LeaseError,
    lease_for_tenant,
    lease_grant,
    lease_list,
    lease_revoke,
    lease_summary,
)
from tenants.models import Lease, LeaseQuery
from tenants.permissions import IsTenantAdmin


def lease_api_error(exc: LeaseError) -> ApiError:
    return ApiError(status_code=exc.status, code=exc.code, message=exc.message, details={"field": exc.field})


def _lease_or_404(tenant, lease_id: int) -> Lease:
    try:
        return lease_for_tenant(tenant=tenant, lease_id=lease_id)
    except LeaseError:
        raise ApiError(status_code=404, code="not_found", message=NOT_YOURS) from None


class LeaseListCreateApi(APIView):
    def get_permissions(self):
        return [IsTenantAdmin()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(responses=dict, summary="Leases this tenant granted (retailer) or holds (brand)")
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(lease_list(tenant=request.tenant), request, view=self)
        return paginator.get_paginated_response([lease_summary(lease) for lease in page])

    @extend_schema(request=dict, responses={201: dict}, summary="Grant a brand a lease (retailer admins)")
    def post(self, request):
        try:
            lease = lease_grant(retailer=request.tenant, actor=request.user.actor, data=request.data)
        except LeaseError as exc:
            raise lease_api_error(exc) from exc
        return Response(lease_summary(lease), status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/leases/{lease.pk}"})


class LeaseDetailApi(APIView):
    @extend_schema(responses=dict, summary="One lease: terms, budget spent and left, queries run")
    def get(self, request, lease_id: int):
        return Response(lease_summary(_lease_or_404(request.tenant, lease_id)))


class LeaseRevokeApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(request=None, responses=dict, summary="Revoke a lease (retailer admins)")
    def post(self, request, lease_id: int):
        lease = _lease_or_404(request.tenant, lease_id)
        try:
            lease_revoke(retailer=request.tenant, lease=lease, actor=request.user.actor)
        except LeaseError as exc:
            raise lease_api_error(exc) from exc
        return Response(lease_summary(lease))


class LeaseQueriesApi(APIView):
    @extend_schema(responses=dict, summary="Every clean-room query run under the lease, newest first")
    def get(self, request, lease_id: int):
        lease = _lease_or_404(request.tenant, lease_id)
        paginator = ListPagination()
        page = paginator.paginate_queryset(LeaseQuery.objects.filter(lease=lease), request, view=self)
        return paginator.get_paginated_response([
            {"id": q.pk, "actor": q.actor, "sql": q.sql, "epsilon": q.epsilon, "rows_returned": q.rows_returned,
             "rows_suppressed": q.rows_suppressed, "repeated": q.repeated, "created_at": q.created_at.isoformat()}
            for q in page])


class LeaseStatementApi(APIView):
    @extend_schema(responses=dict, summary="A lease's monthly statement (?month=YYYY-MM): fee, performance share, "
                                           "the readouts behind it, usage")
    def get(self, request, lease_id: int):
        from django.utils import timezone

        from tenants.statements import lease_statement

        lease = _lease_or_404(request.tenant, lease_id)
        month = request.query_params.get("month") or timezone.localdate().strftime("%Y-%m")
        try:
            return Response(lease_statement(lease, month))
        except LeaseError as exc:
            raise lease_api_error(exc) from exc
