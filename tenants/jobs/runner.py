"""`job_task`: turns a function of a Job into a tenant-scoped Celery task that reports into that Job.

The task fails closed: sent without a tenant schema (or for the public schema) it raises before touching
any table, so work can never land in the wrong tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import connection
from tenant_schemas_celery.app import get_schema_name_from_task

from rmn_saas.celery import app
from rmn_saas.request_context import reset_request_id, set_request_id
from tenants.jobs.models import Job
from tenants.jobs.services import JobCancelled, job_fail, job_start, job_succeed

logger = logging.getLogger(__name__)

TENANT_REQUIRED = "This task runs in one tenant's schema and none was given."


class TenantRequired(RuntimeError):
    pass


class JobFailure(Exception):
    """Raised by a job function to fail its job with a code and a message the user will read, and optionally
    `details` (stored as the job error's `details`, in the API's error shape)."""

    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def require_tenant_schema(task) -> str:
    schema = get_schema_name_from_task(task, {})
    if not schema or schema == "public" or connection.schema_name != schema:
        raise TenantRequired(TENANT_REQUIRED)
    return schema


def job_task(*, name: str) -> Callable:
    """The queue comes from CELERY_TASK_ROUTES by name: `inference.*` runs on `gpu`, the rest on `default`."""
    def decorate(fn: Callable[[Job], Any]):
        @app.task(name=name, bind=True, acks_late=True)
        def run(self, job_id: str) -> None:
            require_tenant_schema(self)
            job = Job.objects.filter(pk=job_id).first()
            if job is None:
                return  # deleted meanwhile: nothing to do
            token = set_request_id(job.request_id)
            try:
                if not job_start(job=job):
                    return  # cancelled before it started
                try:
                    result = fn(job)
                except JobCancelled:
                    return
                except JobFailure as failure:
                    job_fail(job=job, code=failure.code, message=failure.message, details=failure.details)
                    return
                except Exception as exc:
                    logger.exception("job %s (%s) failed", job.id, name)
                    job_fail(job=job, code="error", message=f"{type(exc).__name__}: {exc}")
                    return
                job_succeed(job=job, result=result)
            finally:
                reset_request_id(token)

        run.job_function = fn
        return run

    return decorate
