"""Harmonizer tasks, on the `default` queue: ingest an uploaded export inside its job, then delete the upload."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from campaigns.services import upload_path
from rmn_saas.celery import app
from tenants.jobs.models import Job, JobStatus
from tenants.jobs.runner import JobFailure, job_task, require_tenant_schema
from tenants.jobs.services import JobCancelled, job_progress

UPLOAD_MISSING = "The uploaded file is no longer there (uploads are kept for a day): upload it again."


class ProgressChannel:
    """Progress reports for a job whose work holds the connection: the ingest runs in one transaction and streams
    one COPY, so a report on the same connection would be invisible until commit (and fail mid-COPY). Reports go
    over a second connection in autocommit, at most every `interval` seconds; a cancel shows at the next one."""

    def __init__(self, job: Job, *, interval: float = 0.5) -> None:
        self.job = job
        self.interval = interval
        self.last = float("-inf")
        self.channel = None

    def __enter__(self) -> ProgressChannel:
        self.channel = connections.create_connection(DEFAULT_DB_ALIAS)
        self.channel.set_schema(connection.schema_name)
        return self

    def __exit__(self, *exc_info) -> None:
        self.channel.close()

    def __call__(self, progress: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        progress = min(1.0, max(0.0, float(progress)))
        with self.channel.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET progress = %s, message = %s, updated_at = %s "  # noqa: S608
                "WHERE id = %s AND status = %s",
                [progress, message[:500], timezone.now(), self.job.pk, JobStatus.RUNNING],
            )
            updated = cursor.rowcount
        if not updated:
            raise JobCancelled(str(self.job.pk))
        self.job.progress, self.job.message = progress, message


def _jsonable(value: Any) -> Any:
    # Batch summaries and error details may carry Decimals and dates; the job stores plain JSON.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@job_task(name="campaigns.ingest")
def ingest_upload(job: Job) -> dict:
    """Params: upload (the key under the tenant's upload folder), file_name, format, account, max_reject_share."""
    from campaigns.harmonize import IngestError, IngestOptions, ingest_file

    params = job.params
    try:
        path = upload_path(schema=connection.schema_name, key=params.get("upload", ""))
    except ValueError:
        raise JobFailure("upload_missing", UPLOAD_MISSING, details={})
    try:
        if not path.is_file():
            raise JobFailure("upload_missing", UPLOAD_MISSING, details={})
        options = IngestOptions(spec=params.get("format") or "auto", account=params.get("account") or "",
                                max_reject_share=params.get("max_reject_share"))
        with ProgressChannel(job) as progress:
            progress(0.0, "reading the file")
            try:
                result = ingest_file(path=path, file_name=params.get("file_name") or path.name, actor=job.created_by,
                                     options=options, progress=progress)
            except IngestError as exc:
                raise JobFailure(exc.code, exc.message, details=_jsonable(exc.details))
    finally:
        path.unlink(missing_ok=True)
    return _jsonable(result.to_dict())


@job_task(name="campaigns.allocate")
def allocate_budget(job: Job) -> dict:
    """A large or flighted allocation, solved on the worker (the reference engine may load cvxpy here)."""
    from campaigns.allocation import allocation_solve, problem_or_400
    from rmn_saas.errors import ApiError

    job_progress(job=job, progress=0.1, message="solving")
    try:
        return allocation_solve(problem_or_400(job.params["problem"]))
    except ApiError as exc:
        raise JobFailure(exc.error_code, str(exc.detail), details=exc.details) from exc


@job_task(name="campaigns.build_plan")
def build_plan(job: Job) -> dict:
    """Params: plan (its id). Fits the curves from RMIS, allocates and stores the plan (ready or failed)."""
    from campaigns.plans.build import PlanBuildError, plan_build
    from campaigns.plans.models import Plan, PlanStatus

    plan = Plan.objects.filter(pk=job.params.get("plan")).first()
    if plan is None:
        raise JobFailure("plan_missing", "The plan was deleted before it was built.", details={})
    try:
        plan_build(plan, progress=lambda progress, message: job_progress(job=job, progress=progress, message=message))
    except PlanBuildError as exc:
        raise JobFailure(exc.code, exc.message, details=_jsonable(exc.details)) from exc
    except Exception as exc:
        # Never leave a plan "queued" behind a failed job.
        Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.FAILED, error={
            "code": "error", "message": f"{type(exc).__name__}: {exc}", "details": {}})
        raise
    return {"plan": plan.pk, "status": plan.status,
            "expected_incremental_margin": str(plan.expected_incremental_margin)}


@app.task(name="campaigns.plan_follow_up", bind=True)
def plan_follow_up_task(self) -> dict:
    """Runs in one tenant's schema (the header carries it): refit curves, record plan outcomes."""
    from campaigns.plans.follow_up import plan_follow_up

    require_tenant_schema(self)
    return plan_follow_up()


@app.task(name="campaigns.plan_follow_up_all_tenants")
def plan_follow_up_all_tenants() -> int:
    """Beat entry point: one follow-up per tenant, each sent from inside that tenant's schema."""
    from django_tenants.utils import schema_context

    from tenants.models import Tenant

    count = 0
    for schema in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            plan_follow_up_task.delay()
        count += 1
    return count


@job_task(name="campaigns.experiment_readout")
def experiment_readout_task(job: Job) -> dict:
    """Params: experiment (its id) and the readout request (spend, network, placement, campaign, attributed_sales)."""
    from campaigns.measure.models import Experiment
    from campaigns.measure.readout import experiment_readout
    from campaigns.measure.requests import MeasureRequestError

    params = dict(job.params)
    experiment = Experiment.objects.filter(pk=params.pop("experiment", None)).first()
    if experiment is None:
        raise JobFailure("experiment_missing", "The experiment was deleted before its readout.", details={})
    job_progress(job=job, progress=0.2, message="reading out")
    try:
        return _jsonable(experiment_readout(experiment, params))
    except MeasureRequestError as exc:
        raise JobFailure(exc.code, exc.message, details=_jsonable(exc.details)) from exc
