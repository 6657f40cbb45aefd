"""API of the harmonizer and RMIS: upload an export (a job), ingest batches and their rejects, mapping specs,
and performance metrics at a standard attribution window."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.db import connection
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.attribution import DEFAULT_WINDOW, Window
from campaigns.models import IngestBatch, IngestReject
from campaigns.selectors import (
    DETAIL_REJECTS,
    MAX_METRIC_ROWS,
    METRIC_GROUPS,
    METRIC_ORDERS,
    MetricsFilter,
    ingest_batch_anomalies,
    ingest_batch_get,
    ingest_batch_list,
    ingest_batch_rejects,
    mapping_spec_list,
    rmis_metrics,
)
from campaigns.services import ingest_request, mapping_spec_create
from rmn_saas.errors import NOT_FOUND_MESSAGE
from rmn_saas.pagination import ListPagination

UNKNOWN_GROUP = "Unknown group {names}; group by any of: {allowed}."
DATES_REVERSED = "date_from is after date_to."


class JobAcceptedSerializer(serializers.Serializer):
    job = serializers.UUIDField()


class IngestApi(APIView):
    """Upload an export; the default worker ingests it. Poll /api/v1/jobs/{job}: its result is the batch summary,
    its error (a failed ingest) carries the reason code, message and details."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="IngestUpload")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)  # an empty file gets the service's own error
        format = serializers.CharField(required=False, default="auto", max_length=120,
                                       help_text="auto (detect), a spec name, or name@version")
        account = serializers.CharField(required=False, default="", allow_blank=True, max_length=128)
        max_reject_share = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0,
                                                  max_value=1)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={202: JobAcceptedSerializer},
                   summary="Upload an export to ingest; poll /api/v1/jobs/{job}")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = ingest_request(tenant=request.tenant, actor=request.user.actor, uploaded_file=data.validated_data["file"],
                             format=data.validated_data["format"], account=data.validated_data["account"],
                             max_reject_share=data.validated_data["max_reject_share"])
        return Response({"job": str(job.id)}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})


class BatchOutputSerializer(serializers.ModelSerializer):
    format = serializers.CharField(source="spec_name")
    format_version = serializers.IntegerField(source="spec_version")
    anomaly_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = IngestBatch
        fields = ["id", "file_name", "file_size", "status", "format", "format_version", "network", "kind", "account",
                  "rows_read", "rows_loaded", "rows_replaced", "rows_rejected", "totals", "date_min", "date_max",
                  "anomaly_count", "error", "duplicate_of", "created_by", "created_at", "seconds"]



def _batch_or_404(batch_id) -> IngestBatch:
    batch = ingest_batch_get(batch_id=batch_id)
    if batch is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return batch


class BatchListApi(APIView):
    @extend_schema(responses=BatchOutputSerializer(many=True), summary="Ingest batches, newest first",
                   parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)])
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(ingest_batch_list(), request, view=self)
        return paginator.get_paginated_response(BatchOutputSerializer(page, many=True).data)


class BatchDetailApi(APIView):
    class AnomalySerializer(serializers.Serializer):
        code = serializers.CharField()
        severity = serializers.CharField()
        message = serializers.CharField()
        details = serializers.JSONField()

    class RejectSerializer(serializers.Serializer):
        line = serializers.IntegerField()
        reasons = serializers.ListField(child=serializers.CharField())
        raw = serializers.DictField()

    @extend_schema_serializer(component_name="IngestBatchDetail")
    class OutputSerializer(BatchOutputSerializer):
        detection = serializers.JSONField()

        class Meta(BatchOutputSerializer.Meta):
            fields = [*BatchOutputSerializer.Meta.fields, "detection"]

    @extend_schema(responses=OutputSerializer, summary="A batch with its anomalies and first 100 rejects")
    def get(self, request, batch_id: int):
        batch = _batch_or_404(batch_id)
        anomalies = list(ingest_batch_anomalies(batch=batch))
        rejects = ingest_batch_rejects(batch=batch)
        stored = rejects.count()
        body = self.OutputSerializer(batch).data
        body.update(
            anomalies=self.AnomalySerializer(anomalies, many=True).data,
            rejects=self.RejectSerializer(rejects[:DETAIL_REJECTS], many=True).data,
            counts={"anomalies": len(anomalies), "rejects_stored": stored,
                    "rejects_shown": min(stored, DETAIL_REJECTS), "rows_rejected": batch.rows_rejected},
            rejects_csv=f"/api/v1/ingest/batches/{batch.pk}/rejects.csv",
        )
        return Response(body)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _reject_columns(batch: IngestBatch) -> list[str]:
    """The raw columns of the rejects, in the file's header order (stored rows are JSON, which keeps no order)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT jsonb_object_keys(raw) FROM {IngestReject._meta.db_table} "  # noqa: S608
                       "WHERE batch_id = %s", [batch.pk])
        keys = {row[0] for row in cursor.fetchall()}
    headers = [header for header in batch.detection.get("headers") or [] if header in keys]
    return headers + sorted(keys - set(headers))


class BatchRejectsCsvApi(APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY},
                   summary="Every stored reject of a batch as CSV: line, reasons, then the source columns")
    def get(self, request, batch_id: int):
        batch = _batch_or_404(batch_id)
        columns = _reject_columns(batch)

        def rows() -> Iterator[str]:
            writer = csv.writer(_Echo())
            yield writer.writerow(["line", "reasons", *columns])
            for reject in ingest_batch_rejects(batch=batch).iterator(chunk_size=2000):
                yield writer.writerow([reject.line, ";".join(reject.reasons),
                                       *(reject.raw.get(column) or "" for column in columns)])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-rejects.csv"'
        return response


class MappingSpecOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    network = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    builtin = serializers.BooleanField()
    active = serializers.BooleanField()
    effective = serializers.BooleanField(help_text="the version auto-detection and format=<name> use")
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    document = serializers.JSONField()


class MappingSpecListCreateApi(APIView):
    @extend_schema(responses=MappingSpecOutputSerializer(many=True),
                   summary="Built-in mapping specs and every version of this tenant's own")
    def get(self, request):
        return Response(MappingSpecOutputSerializer(mapping_spec_list(), many=True).data)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: MappingSpecOutputSerializer},
                   summary="Save a spec document as the next version of its name (400 details name each problem)")
    def post(self, request):
        row = mapping_spec_create(actor=request.user.actor, document=request.data)
        spec = next(spec for spec in mapping_spec_list()
                    if not spec["builtin"] and (spec["name"], spec["version"]) == (row.name, row.version))
        return Response(MappingSpecOutputSerializer(spec).data, status=status.HTTP_201_CREATED)


class MetricsApi(APIView):
    class InputSerializer(serializers.Serializer):
        group_by = serializers.CharField(required=False, default="network",
                                         help_text=f"comma-separated: {', '.join(METRIC_GROUPS)}")
        date_from = serializers.DateField(required=False, allow_null=True, default=None)
        date_to = serializers.DateField(required=False, allow_null=True, default=None)
        window = serializers.CharField(required=False, default=DEFAULT_WINDOW,
                                       help_text="<days>d_click or <days>d_click_view")
        order = serializers.ChoiceField(choices=METRIC_ORDERS, required=False, default="group")
        limit = serializers.IntegerField(required=False, default=1000, min_value=1, max_value=MAX_METRIC_ROWS)

        def validate_group_by(self, value: str) -> list[str]:
            names = [name.strip() for name in value.split(",") if name.strip()]
            unknown = [name for name in names if name not in METRIC_GROUPS]
            if unknown or not names:
                raise serializers.ValidationError(
                    UNKNOWN_GROUP.format(names=", ".join(unknown) or "(none)", allowed=", ".join(METRIC_GROUPS)))
            return list(dict.fromkeys(names))

        def validate_window(self, value: str) -> Window:
            try:
                return Window.parse(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc))

        def validate(self, attrs: dict) -> dict:
            date_from: dt.date | None = attrs.get("date_from")
            date_to: dt.date | None = attrs.get("date_to")
            if date_from and date_to and date_from > date_to:
                raise serializers.ValidationError({"date_from": DATES_REVERSED})
            return attrs

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT,
                   summary="Spend, delivery and sales at one attribution window, grouped")
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        return Response(rmis_metrics(filters=MetricsFilter(**data.validated_data)))


class AllocateApi(APIView):
    """The `allocate_budget` tool: explicit cells and constraints in, an allocation out (200), or a job (202)
    for problems over 10,000 cells or with flighting. The request schema is in campaigns/optimize/problem.py."""

    @extend_schema(request=dict, responses={200: dict, 202: JobAcceptedSerializer},
                   summary="Allocate a budget across cells under constraints (synchronous up to 10,000 cells)")
    def post(self, request):
        from campaigns.allocation import allocation_request

        result, job = allocation_request(actor=request.user.actor, data=request.data)
        if job is not None:
            return Response({"job": str(job.id)}, status=status.HTTP_202_ACCEPTED,
                            headers={"Location": f"/api/v1/jobs/{job.id}"})
        return Response(result)
