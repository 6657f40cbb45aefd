"""/api/v1/governance/check-creative (any tenant, against a retailer's active set) and
/api/v1/governance/policies… (a retailer manages its own versions: list, import, export, activate)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.policies.checker import Targeting
from governance.policies.selectors import creative_check, policy_export, policy_set_list, policy_set_of_retailer
from governance.policies.services import policy_activate, policy_import
from rmn_saas.pagination import ListPagination
from tenants.models import TenantKind
from tenants.permissions import ADMIN_ONLY, AnyRole

RETAILERS_ONLY = "Only a retailer manages ad policies; any tenant may check a creative against them."
TEXT_OR_BODY = "Send the creative as `text`, or as `headline` and/or `body`, not both."
NO_TEXT = "Send some creative text: `text`, `headline` or `body`."


class RetailerPolicyPermission(BasePermission):
    """A retailer's users read its policy sets; its admins write them. Brands and the platform are refused."""

    message = RETAILERS_ONLY

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated or not getattr(user, "role", None):
            return False
        if request.tenant.kind != TenantKind.RETAILER:
            return False
        if request.method not in SAFE_METHODS and not user.is_tenant_admin:
            self.message = ADMIN_ONLY
            return False
        return True


def _text_field(limit: int) -> serializers.CharField:
    # Not trimmed: violation spans point into the text exactly as sent.
    return serializers.CharField(required=False, allow_blank=True, max_length=limit, trim_whitespace=False)


class TargetingSerializer(serializers.Serializer):
    audiences = serializers.ListField(child=serializers.CharField(max_length=200), max_length=200, required=False)
    age_min = serializers.IntegerField(min_value=0, max_value=120, required=False, allow_null=True)
    geos = serializers.ListField(child=serializers.CharField(max_length=50), max_length=500, required=False)


class CheckCreativeApi(APIView):
    """A creative (headline/body or text, optional disclaimer, targeting) and its context → the violations of the
    retailer's active policy set, each citing rule id and version, with severity and a suggested fix."""

    permission_classes = [AnyRole]

    @extend_schema_serializer(component_name="CheckCreativeInput")
    class InputSerializer(serializers.Serializer):
        retailer = serializers.SlugField(max_length=63)
        placement = serializers.CharField(max_length=100)
        category = serializers.CharField(max_length=200, required=False, allow_blank=True)
        brand = serializers.CharField(max_length=200, required=False, allow_blank=True)
        format = serializers.CharField(max_length=50, required=False, allow_blank=True)
        headline = _text_field(1000)
        body = _text_field(5000)
        text = _text_field(5000)
        disclaimer = _text_field(2000)
        targeting = TargetingSerializer(required=False)

        def validate(self, data: dict) -> dict:
            if "text" in data and "body" in data:
                raise serializers.ValidationError({"text": [TEXT_OR_BODY]})
            if not any(data.get(name, "").strip() for name in ("text", "headline", "body")):
                raise serializers.ValidationError({"text": [NO_TEXT]})
            return data

    @extend_schema(request=InputSerializer, responses={200: dict},
                   summary="Check a creative against a retailer's active ad policies")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        given = data.pop("targeting", None)
        targeting = None if given is None else Targeting(
            audiences=tuple(given.get("audiences", ())), age_min=given.get("age_min"),
            geos=tuple(given.get("geos", ())))
        policy_set, violations = creative_check(retailer_slug=data.pop("retailer"), targeting=targeting, **data)
        summary = {severity: sum(v.severity == severity for v in violations) for severity in ("block", "warn", "info")}
        return Response({
            "policy": {"retailer": policy_set.retailer.slug, "version": policy_set.version},
            "passed": summary["block"] == 0,
            "summary": summary,
            "violations": [violation.as_dict() for violation in violations],
        })


def _summary(policy_set) -> dict:
    return {"version": policy_set.version, "status": policy_set.status, "rules": policy_set.rule_count,
            "created_by": policy_set.created_by, "created_at": policy_set.created_at.isoformat(),
            "notes": policy_set.notes}


class PolicyListImportApi(APIView):
    """GET: this retailer's policy-set versions, newest first. POST: a policy document (the format GET
    …/policies/<version> returns) stored as the next version, a draft; a malformed one is refused whole."""

    permission_classes = [RetailerPolicyPermission]

    @extend_schema(responses=dict, summary="This retailer's policy-set versions",
                   operation_id="governance_policies_list")
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(policy_set_list(retailer=request.tenant), request, view=self)
        return paginator.get_paginated_response([_summary(policy_set) for policy_set in page])

    @extend_schema(request=dict, responses={201: dict}, summary="Import a policy set as a new draft version")
    def post(self, request):
        policy_set = policy_import(retailer=request.tenant, document=request.data, actor=request.user.actor)
        return Response(
            {"retailer": request.tenant.slug, "version": policy_set.version, "status": policy_set.status,
             "rules": policy_set.rules.count()},
            status=status.HTTP_201_CREATED, headers={"Location": f"/api/v1/governance/policies/{policy_set.version}"})


class PolicyExportApi(APIView):
    permission_classes = [RetailerPolicyPermission]

    @extend_schema(responses=dict, summary="Export one version as the JSON document import takes",
                   operation_id="governance_policies_export")
    def get(self, request, version: int):
        return Response(policy_export(policy_set=policy_set_of_retailer(retailer=request.tenant, version=version)))


class PolicyActivateApi(APIView):
    """Make a draft (or a retired version, to roll back) the active set; the active one retires."""

    permission_classes = [RetailerPolicyPermission]

    @extend_schema(request=None, responses={200: dict}, summary="Activate a policy-set version")
    def post(self, request, version: int):
        policy_set, previous = policy_activate(retailer=request.tenant, version=version, actor=request.user.actor)
        return Response({"retailer": request.tenant.slug, "version": policy_set.version, "status": policy_set.status,
                         "previous": previous.version if previous else None})
