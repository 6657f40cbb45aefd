"""/api/v1/plans: create a plan from the tenant's RMIS data (202, a job on the default worker), list plans, read
one (allocation, curves, monitoring, rationale, outcomes), and compare two."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.plans.request import PlanRequestError
from campaigns.plans.selectors import plan_compare, plan_detail, plan_get, plan_list, plan_summary
from campaigns.plans.services import plan_create
from rmn_saas.errors import NOT_FOUND_MESSAGE, ApiError
from rmn_saas.pagination import ListPagination


def _plan_or_404(plan_id: int):
    plan = plan_get(plan_id)
    if plan is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return plan


class PlanListCreateApi(APIView):
    """POST a budget, objective, constraints and scope; the worker fits curves from RMIS and allocates. Poll the
    plan (or its job). The request schema is in campaigns/plans/request.py."""

    @extend_schema(responses=dict, summary="Plans, newest first",
                   parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)])
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(plan_list(), request, view=self)
        return paginator.get_paginated_response([plan_summary(plan) for plan in page])

    @extend_schema(request=dict, responses={202: dict}, summary="Build a plan from this tenant's RMIS data")
    def post(self, request):
        try:
            plan = plan_create(actor=request.user.actor, data=request.data)
        except PlanRequestError as exc:
            raise ApiError(status_code=400, code="invalid_plan", message=exc.message,
                           details={"field": exc.field}) from exc
        return Response({"plan": plan.pk, "job": str(plan.job_id)}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/plans/{plan.pk}"})


class PlanDetailApi(APIView):
    @extend_schema(responses=dict, summary="One plan: allocation by level, curves, monitoring, rationale, outcomes")
    def get(self, request, plan_id: int):
        return Response(plan_detail(_plan_or_404(plan_id)))


class PlanCompareApi(APIView):
    @extend_schema(responses=dict, summary="Two plans side by side (totals and spend per network and placement)")
    def get(self, request, plan_id: int, other_id: int):
        return Response(plan_compare(_plan_or_404(plan_id), _plan_or_404(other_id)))
