"""/api/v1/adapters/train…: a tenant's own training runs (any role reads them), and its admins start, cancel and
resume them. A tenant trains adapters of its own kind only; task adapters are the platform's, started with
`manage.py train_adapter` or in the admin. Another tenant's run is the same 404 as a missing one.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.adapters.api import AdapterPermission
from inference.adapters.models import KIND_OF_OWNER
from inference.training.models import TrainingRun
from inference.training.selectors import training_run_list, training_run_of_owner
from inference.training.services import training_cancel, training_resume, training_start
from rmn_saas.pagination import ListPagination

RUNS = "/api/v1/adapters/train"


def _when(value) -> str | None:
    return value.isoformat() if value else None


def training_run_body(run: TrainingRun, *, full: bool) -> dict:
    """A run as the API answers it; the list leaves out the loss curve and the failing examples (`full` has them)."""
    evaluation = run.evaluation or {}
    if not full:
        evaluation = {key: ({k: v for k, v in value.items() if k != "failures"} if isinstance(value, dict) else value)
                      for key, value in evaluation.items()}
    body = {
        "id": run.pk, "owner": run.owner.slug, "kind": run.kind, "name": run.name, "task": run.task or None,
        "dataset": run.dataset, "base_model": run.base_model, "status": run.status, "progress": run.progress,
        "message": run.message, "cancel_requested": run.cancel_requested, "hyperparameters": run.hyperparameters,
        "data_summary": run.data_summary, "evaluation": evaluation, "timing": run.timing,
        "adapter": run.adapter_id, "error": run.error, "created_by": run.created_by,
        "created_at": _when(run.created_at), "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at), "updated_at": _when(run.updated_at),
    }
    if full:
        body["losses"] = run.losses
    return body


class TrainingRunListStartApi(APIView):
    """GET: this tenant's training runs, newest first. POST (admins): train the tenant's next version of adapter
    `name` on `dataset`, with optional hyper-parameter overrides; the run is queued on the gpu worker (202). Bad
    terms are refused with the reason (400): an unknown dataset names the known ones."""

    permission_classes = [AdapterPermission]

    @extend_schema_serializer(component_name="TrainingRunStart")
    class InputSerializer(serializers.Serializer):
        # The service checks every term, so the API, the command and the admin refuse alike.
        name = serializers.CharField(help_text="The adapter's name; the result is its next version.")
        dataset = serializers.CharField(help_text="The dataset builder.")
        hyperparameters = serializers.JSONField(required=False, help_text="Overrides, e.g. {\"max_steps\": 200}.")

    @extend_schema(responses=dict, summary="This tenant's training runs", operation_id="adapters_train_list")
    def get(self, request):
        paginator = ListPagination()
        page = paginator.paginate_queryset(training_run_list(owner=request.tenant), request, view=self)
        return paginator.get_paginated_response([training_run_body(run, full=False) for run in page])

    @extend_schema(request=InputSerializer, responses={202: dict}, summary="Start training an adapter")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        run = training_start(owner=request.tenant, actor=request.user.actor, kind=KIND_OF_OWNER[request.tenant.kind],
                             name=values["name"], dataset=values["dataset"],
                             hyperparameters=values.get("hyperparameters"))
        return Response(training_run_body(run, full=True), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"{RUNS}/{run.pk}"})


class TrainingRunDetailApi(APIView):
    """GET: one of this tenant's runs, with its loss curve, evaluation (failing examples too), data and timing."""

    permission_classes = [AdapterPermission]

    @extend_schema(responses=dict, summary="One training run")
    def get(self, request, run_id: int):
        return Response(training_run_body(training_run_of_owner(tenant=request.tenant, run_id=run_id), full=True))


class _TrainingTransitionApi(APIView):
    """One of the tenant's runs moved along by `transition` (a service; its 409s pass through)."""

    permission_classes = [AdapterPermission]
    transition = None

    def post(self, request, run_id: int):
        run = training_run_of_owner(tenant=request.tenant, run_id=run_id)
        run = type(self).transition(run=run, actor=request.user.actor)
        return Response(training_run_body(training_run_of_owner(tenant=request.tenant, run_id=run.pk), full=True))


@extend_schema_view(post=extend_schema(request=None, responses={200: dict}, summary="Cancel a training run"))
class TrainingRunCancelApi(_TrainingTransitionApi):
    """A queued run is cancelled at once; a running one stops after its current step (409 once finished)."""

    transition = training_cancel


@extend_schema_view(post=extend_schema(request=None, responses={200: dict}, summary="Resume a training run"))
class TrainingRunResumeApi(_TrainingTransitionApi):
    """A failed or cancelled run is queued again, from its last checkpoint when it has one (409 otherwise)."""

    transition = training_resume
