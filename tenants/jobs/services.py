"""Writing jobs: create and enqueue, report progress, finish, cancel. Tasks call these and nothing else."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.audit.models import Outcome
from governance.audit.services import audit_record
from rmn_saas.errors import ApiError
from rmn_saas.request_context import current_request_id
from tenants.jobs.models import FINISHED_STATUSES, Job, JobStatus

JOB_ALREADY_FINISHED = "This job has already finished."


class JobCancelled(Exception):
    """Raised inside a task when its job was cancelled, so the task stops at its next progress report."""


def job_create(
    *, kind: str, actor: str, params: dict[str, Any], task, task_kwargs: dict[str, Any] | None = None
) -> Job:
    """Store a queued job and send its task once the row is committed (the worker must find it)."""
    job = Job.objects.create(kind=kind, created_by=actor, params=params, request_id=current_request_id())
    audit_record(actor=actor, action="job.create", object_type="job", object_id=str(job.id), details={"kind": kind})
    job_id = str(job.id)
    transaction.on_commit(lambda: task.apply_async(args=[job_id], kwargs=task_kwargs or {}))
    return job


def job_start(*, job: Job) -> bool:
    """Mark a queued job running; False when it was cancelled (or already taken) before the worker got it."""
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), updated_at=timezone.now(), message="started"
    )
    if updated:
        job.refresh_from_db()
        audit_record(actor="worker", action="job.start", object_type="job", object_id=str(job.id),
                     request_id=job.request_id, details={"kind": job.kind})
    return bool(updated)


def job_progress(*, job: Job, progress: float, message: str = "") -> None:
    """Record progress; raises JobCancelled if someone cancelled the job meanwhile."""
    progress = min(1.0, max(0.0, float(progress)))
    updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        progress=progress, message=message[:500], updated_at=timezone.now()
    )
    if not updated:
        raise JobCancelled(str(job.id))
    job.progress, job.message = progress, message


def _finish(*, job: Job, status: str, result: Any = None, error: dict | None = None, message: str = "") -> bool:
    fields = {"status": status, "finished_at": timezone.now(), "updated_at": timezone.now(), "message": message[:500]}
    if status == JobStatus.SUCCEEDED:
        fields.update(progress=1.0, result=result)
    if error is not None:
        fields["error"] = error
    updated = Job.objects.filter(pk=job.pk).exclude(status__in=FINISHED_STATUSES).update(**fields)
    if updated:
        outcome = Outcome.SUCCESS if status == JobStatus.SUCCEEDED else Outcome.FAILURE
        audit_record(actor="worker", action=f"job.{status}", outcome=outcome, object_type="job",
                     object_id=str(job.id), request_id=job.request_id, details={"kind": job.kind, **(error or {})})
        job.refresh_from_db()
    return bool(updated)


def job_succeed(*, job: Job, result: Any) -> bool:
    return _finish(job=job, status=JobStatus.SUCCEEDED, result=result, message="done")


def job_fail(*, job: Job, code: str, message: str, details: dict | None = None) -> bool:
    """`details` (when given) joins the error, so a failed job reads like an API error: code, message, details."""
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return _finish(job=job, status=JobStatus.FAILED, error=error, message=message)


def job_cancel(*, job: Job, actor: str) -> Job:
    """Cancel a queued or running job; the worker notices at its next progress report."""
    updated = Job.objects.filter(pk=job.pk).exclude(status__in=FINISHED_STATUSES).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now(),
        message=f"cancelled by {actor}",
    )
    if not updated:
        raise ApiError(status_code=409, code="job_finished", message=JOB_ALREADY_FINISHED,
                       details={"status": Job.objects.get(pk=job.pk).status})
    audit_record(actor=actor, action="job.cancel", object_type="job", object_id=str(job.id))
    job.refresh_from_db()
    return job


def job_sweep_stale(*, older_than) -> int:
    """Fail jobs that have been running longer than `older_than` (their worker died); returns how many."""
    cutoff = timezone.now() - older_than
    stale = list(Job.objects.filter(status=JobStatus.RUNNING, started_at__lt=cutoff))
    for job in stale:
        job_fail(job=job, code="stale", message="The worker running this job stopped answering.")
    return len(stale)
