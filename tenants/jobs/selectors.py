"""Reading jobs: per tenant for pages and the API, and aggregate counts across tenants for /metrics."""

from __future__ import annotations

import uuid
from collections import Counter

from django.db import connection
from django.db.models import QuerySet

from tenants.jobs.models import Job


def job_list(*, status: str = "", kind: str = "") -> QuerySet[Job]:
    jobs = Job.objects.all()
    if status:
        jobs = jobs.filter(status=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    return jobs


def job_get(*, job_id) -> Job | None:
    """The job with this id in the current tenant's schema; None for a malformed or unknown id."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        return None
    return Job.objects.filter(pk=key).first()


def job_counts_all_tenants() -> Counter:
    """(schema, status) → count over every tenant schema: an aggregate, for the platform's metrics only."""
    from tenants.models import Tenant

    schemas = list(Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    counts: Counter = Counter()
    if not schemas:
        return counts
    parts = [
        f'SELECT %s, status, COUNT(*) FROM "{schema}".jobs_job GROUP BY status'  # noqa: S608 - schema names are ours
        for schema in schemas
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), schemas)
        for schema, status, count in cursor.fetchall():
            counts[(schema, status)] = count
    return counts
