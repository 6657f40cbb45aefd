"""/api/v1/adapters…: list the adapters this tenant may use (and its own), upload one (multipart), read one with its
signature status, approve, retire, publish or record metrics (the owner's admins), and route a request to a stack.

An adapter that is missing and one this tenant may not see get the same 404. Task adapters belong to the platform,
whose domain serves no tenant routes: platform staff upload them in the admin or with `manage.py adapter_upload`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.adapters.access import Decision, adapter_of_owner, adapter_visible, adapters_visible
from inference.adapters.artifacts import ArtifactTampered, load_verified, signature_problem
from inference.adapters.models import CONFIG_FILE, KIND_OF_OWNER, MODEL_FILE, Adapter
from inference.adapters.router import route
from inference.adapters.services import adapter_approve, adapter_retire, adapter_update, adapter_upload
from rmn_saas.pagination import ListPagination
from tenants.permissions import AnyRole, IsTenantAdmin

NO_FIELDS = "Send published and/or metrics."


class AdapterPermission(IsTenantAdmin):
    """Any role reads; only the tenant's admins upload and manage its adapters."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return AnyRole().has_permission(request, view)
        return super().has_permission(request, view)


def _signature(adapter: Adapter, *, files: bool, actor: str) -> dict:
    """The record's signature (cheap), or with `files` the whole artifact: decrypted, re-hashed and verified."""
    if files:
        try:
            load_verified(adapter, actor=actor)
            problem = None
        except ArtifactTampered as exc:
            problem = exc.reason
    else:
        problem = signature_problem(adapter)
    return {"status": "invalid" if problem else "valid", "reason": problem, "key_id": adapter.signing_key_id,
            "checked": "files" if files else "record"}


def _adapter(adapter: Adapter, decision: Decision, *, tenant, actor: str, files: bool = False) -> dict:
    own = adapter.owner_id == tenant.pk
    return {
        "id": adapter.pk, "name": adapter.name, "kind": adapter.kind, "task": adapter.task or None,
        "owner": adapter.owner.slug, "version": adapter.version, "status": adapter.status,
        "published": adapter.published, "base_model": adapter.base_model, "rank": adapter.rank,
        "alpha": adapter.alpha, "target_modules": adapter.target_modules, "metrics": adapter.metrics,
        "files": {MODEL_FILE: {"sha256": adapter.model_sha256, "bytes": adapter.model_bytes},
                  CONFIG_FILE: {"sha256": adapter.config_sha256, "bytes": adapter.config_bytes}},
        "signature": _signature(adapter, files=files, actor=actor),
        "usable": decision.allowed, "access": decision.reason,
        # Who made or approved another tenant's adapter is that tenant's business.
        "created_by": adapter.created_by if own else None, "approved_by": adapter.approved_by if own else None,
        "created_at": adapter.created_at.isoformat(),
        "approved_at": adapter.approved_at.isoformat() if adapter.approved_at else None,
        "retired_at": adapter.retired_at.isoformat() if adapter.retired_at else None,
    }


class AdapterListUploadApi(APIView):
    """GET: the adapters this tenant may use, and all of its own (drafts and retired too), newest first.
    POST (admins, multipart): adapter_model.safetensors and adapter_config.json, in any file fields, and the
    adapter's name; it is stored as the next version of that name, a draft. A pickle, any other file, a corrupt
    header or weights that do not match the config are refused with the reason (400) and nothing is stored."""

    permission_classes = [AdapterPermission]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="AdapterUpload")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        kind = serializers.CharField(max_length=16, required=False,
                                     help_text="retailer, brand or task; defaults to the tenant's kind.")
        task = serializers.CharField(max_length=100, required=False, default="")
        base_model = serializers.CharField(max_length=200, required=False,
                                           help_text="Checked against adapter_config.json when given.")
        published = serializers.BooleanField(required=False, default=False,
                                             help_text="Retailers: make it usable by every brand.")
        metrics = serializers.JSONField(required=False, binary=True, help_text="Evaluation metrics, a JSON object.")

    @extend_schema(responses=dict, summary="Adapters this tenant may use, and its own", operation_id="adapters_list")
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(adapters_visible(tenant=request.tenant), request, view=self)
        return paginator.get_paginated_response([
            _adapter(adapter, decision, tenant=request.tenant, actor=request.user.actor) for adapter, decision in page])

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: dict},
                   summary="Upload an adapter (adapter_model.safetensors + adapter_config.json) as a draft")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        files = [upload for key in request.FILES for upload in request.FILES.getlist(key)]
        adapter = adapter_upload(
            owner=request.tenant, actor=request.user.actor, name=values["name"],
            kind=values.get("kind") or KIND_OF_OWNER[request.tenant.kind], files=files, task=values["task"],
            base_model=values.get("base_model"), published=values["published"], metrics=values.get("metrics"))
        return Response(_own(request, adapter), status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/adapters/{adapter.pk}"})


class AdapterDetailApi(APIView):
    """GET: one adapter, with its artifact verified (signature, decryption and hashes). PATCH (the owner's admins):
    publish or withdraw a retailer adapter, or record its evaluation metrics."""

    permission_classes = [AdapterPermission]

    class InputSerializer(serializers.Serializer):
        published = serializers.BooleanField(required=False)
        metrics = serializers.DictField(required=False)

        def validate(self, data: dict) -> dict:
            if not data:
                raise serializers.ValidationError({"published": [NO_FIELDS]})
            return data

    @extend_schema(responses=dict, summary="One adapter, its artifact verified")
    def get(self, request, adapter_id: int):
        adapter, decision = adapter_visible(tenant=request.tenant, adapter_id=adapter_id)
        return Response(_adapter(adapter, decision, tenant=request.tenant, actor=request.user.actor, files=True))

    @extend_schema(request=InputSerializer, responses={200: dict}, summary="Publish an adapter or record metrics")
    def patch(self, request, adapter_id: int):
        adapter = adapter_of_owner(tenant=request.tenant, adapter_id=adapter_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adapter = adapter_update(adapter=adapter, actor=request.user.actor, **data.validated_data)
        return Response(_own(request, adapter))


def _own(request, adapter: Adapter) -> dict:
    adapter, decision = adapter_visible(tenant=request.tenant, adapter_id=adapter.pk)
    return _adapter(adapter, decision, tenant=request.tenant, actor=request.user.actor)


class _AdapterTransitionApi(APIView):
    """One of the owner's adapters moved along its lifecycle by `transition` (a service)."""

    permission_classes = [AdapterPermission]
    transition = None

    def post(self, request, adapter_id: int):
        adapter = adapter_of_owner(tenant=request.tenant, adapter_id=adapter_id)
        return Response(_own(request, type(self).transition(adapter=adapter, actor=request.user.actor)))


@extend_schema_view(post=extend_schema(request=None, responses={200: dict}, summary="Approve a draft adapter"))
class AdapterApproveApi(_AdapterTransitionApi):
    """A draft becomes approved once its stored artifact verifies (409 if it does not, or is not a draft)."""

    transition = adapter_approve


@extend_schema_view(post=extend_schema(request=None, responses={200: dict}, summary="Retire an adapter"))
class AdapterRetireApi(_AdapterTransitionApi):
    """Retire an adapter for good: nobody may use it any more (409 if it already is)."""

    transition = adapter_retire


class AdapterRouteApi(APIView):
    """The stack [retailer, brand, task] this tenant may use for a task (in a retailer's context, when named), with
    the explanation: which adapters and versions, why, and which were skipped and why. `adapters` names the stack
    instead: an adapter this tenant may not use is 404, one for another base model 400. Nothing is written."""

    permission_classes = [AnyRole]

    @extend_schema_serializer(component_name="AdapterRouteInput")
    class InputSerializer(serializers.Serializer):
        task = serializers.SlugField(max_length=100)
        retailer = serializers.SlugField(max_length=63, required=False, allow_null=True)
        adapters = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                         max_length=3, allow_empty=True)
        base_model = serializers.CharField(max_length=200, required=False, help_text="Default: the served one.")

    @extend_schema(request=InputSerializer, responses={200: dict}, summary="Choose the adapter stack for a request")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        answer = route(tenant=request.tenant, task=values["task"], retailer=values.get("retailer"),
                       explicit=values.get("adapters") or None, base_model=values.get("base_model"))
        return Response(answer.as_dict())
