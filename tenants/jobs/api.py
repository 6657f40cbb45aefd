"""API for jobs: list, detail (what pages and integrations poll) and cancel."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.jobs.models import Job, JobStatus
from tenants.jobs.selectors import job_get, job_list
from tenants.jobs.services import job_cancel


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "kind", "status", "progress", "message", "result", "error", "created_by",
                  "created_at", "started_at", "finished_at"]


def _job_or_404(job_id) -> Job:
    job = job_get(job_id=job_id)
    if job is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return job


class JobListApi(APIView):
    @extend_schema(responses=JobOutputSerializer(many=True), summary="Recent jobs of this tenant")
    def get(self, request):
        status_filter = request.query_params.get("status", "")
        if status_filter and status_filter not in JobStatus.values:
            raise serializers.ValidationError({"status": f"one of {', '.join(JobStatus.values)}"})
        jobs = job_list(status=status_filter, kind=request.query_params.get("kind", ""))[:100]
        return Response(JobOutputSerializer(jobs, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer, summary="A job's status, progress and result or error")
    def get(self, request, job_id: str):
        return Response(JobOutputSerializer(_job_or_404(job_id)).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses=JobOutputSerializer, summary="Cancel a queued or running job")
    def post(self, request, job_id: str):
        job = job_cancel(job=_job_or_404(job_id), actor=request.user.actor)
        return Response(JobOutputSerializer(job).data)
