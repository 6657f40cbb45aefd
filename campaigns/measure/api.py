"""/api/v1/experiments: what a test can detect, for how long and at what cost (power, synchronous), and designed
experiments with their schedules."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.measure.requests import MeasureRequestError, power_answer
from rmn_saas.errors import NOT_FOUND_MESSAGE, ApiError
from rmn_saas.pagination import ListPagination
from tenants.permissions import AnyRole


class ExperimentPowerApi(APIView):
    """Power, sample size, MDE and duration for conversion-rate, mean and geo tests; the request schema is in
    campaigns/measure/requests.py. Viewers may ask too: nothing is written."""

    permission_classes = [AnyRole]

    @extend_schema(request=dict, responses={200: dict},
                   summary="Power, sample size, MDE and test duration (proportions, means, geo from regional sales)")
    def post(self, request):
        try:
            return Response(power_answer(request.data))
        except MeasureRequestError as exc:
            raise _api_error(exc) from exc


def _api_error(exc: MeasureRequestError) -> ApiError:
    return ApiError(status_code=exc.status, code=exc.code, message=exc.message, details=exc.details)


def _experiment_or_404(experiment_id: int):
    from campaigns.measure.models import Experiment

    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return experiment


def _experiment(experiment) -> dict:
    return {
        "id": experiment.pk, "name": experiment.name, "kind": experiment.kind, "status": experiment.status,
        "retailer": experiment.retailer, "metric": experiment.metric, "created_by": experiment.created_by,
        "created_at": experiment.created_at.isoformat(), "start_date": experiment.start_date.isoformat(),
        "end_date": experiment.end_date.isoformat(), "pre_from": experiment.pre_from.isoformat(),
        "pre_to": experiment.pre_to.isoformat(), "treated": experiment.treated, "control": experiment.control,
        "excluded": experiment.excluded, "design": experiment.design, "alternatives": experiment.alternatives,
        "schedule": experiment.schedule, "readout": experiment.readout, "request": experiment.request,
    }


class ExperimentListCreateApi(APIView):
    """POST a design request (campaigns/measure/experiments.py; geo, switchback or holdout): the design is computed
    from the tenant's sales (or the stated audience) and stored with its schedule (201). GET lists experiments."""

    @extend_schema(responses=dict, summary="Experiments, newest first")
    def get(self, request):
        from campaigns.measure.models import Experiment

        paginator = ListPagination()
        page = paginator.paginate_queryset(Experiment.objects.order_by("-created_at"), request, view=self)
        return paginator.get_paginated_response([_experiment(e) for e in page])

    @extend_schema(request=dict, responses={201: dict},
                   summary="Design a geo test, switchback or holdout; store it with its schedule")
    def post(self, request):
        from campaigns.measure.experiments import experiment_create

        try:
            experiment = experiment_create(actor=request.user.actor, data=request.data)
        except MeasureRequestError as exc:
            raise _api_error(exc) from exc
        return Response(_experiment(experiment), status=status.HTTP_201_CREATED,
                        headers={"Location": f"/api/v1/experiments/{experiment.pk}"})


class ExperimentDetailApi(APIView):
    @extend_schema(responses=dict, summary="One experiment: design, alternatives, schedule and readout")
    def get(self, request, experiment_id: int):
        experiment = _experiment_or_404(experiment_id)
        return Response(_experiment(experiment))


class ExperimentCancelApi(APIView):
    """Cancel a designed or running experiment (409 for one already read out or cancelled): its regions, dates or
    segment are free for another test."""

    @extend_schema(request=None, responses={200: dict}, summary="Cancel an experiment")
    def post(self, request, experiment_id: int):
        from campaigns.measure.experiments import experiment_cancel

        experiment = _experiment_or_404(experiment_id)
        try:
            experiment_cancel(actor=request.user.actor, experiment=experiment)
        except MeasureRequestError as exc:
            raise _api_error(exc) from exc
        return Response(_experiment(experiment))


class ExperimentReadoutApi(APIView):
    """Read an experiment out (a job on the default worker): lift with its interval, incremental sales, iROAS, a
    verdict, and — when the tested network is named — the incrementality factor the next plan uses. The request
    schema is in campaigns/measure/readout.py."""

    @extend_schema(request=dict, responses={202: dict}, summary="Read an experiment out (job)")
    def post(self, request, experiment_id: int):
        from campaigns.measure.readout import readout_params
        from campaigns.tasks import experiment_readout_task
        from tenants.jobs.services import job_create

        experiment = _experiment_or_404(experiment_id)
        try:
            params = readout_params(request.data, kind=experiment.kind)
        except MeasureRequestError as exc:
            raise _api_error(exc) from exc
        job = job_create(kind="readout", actor=request.user.actor, params={"experiment": experiment.pk, **params},
                         task=experiment_readout_task)
        return Response({"job": str(job.id)}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/v1/jobs/{job.id}"})
