"""Job housekeeping on beat: fail jobs whose worker died, in every tenant."""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import schema_context

from rmn_saas.celery import app
from tenants.jobs.runner import require_tenant_schema
from tenants.jobs.services import job_sweep_stale


@app.task(name="jobs.sweep_stale", bind=True)
def sweep_stale(self) -> int:
    """Runs in one tenant's schema (the header carries it)."""
    require_tenant_schema(self)
    return job_sweep_stale(older_than=settings.RMN_JOB_STALE_AFTER)


@app.task(name="jobs.sweep_stale_all_tenants")
def sweep_stale_all_tenants() -> int:
    """Fans out one sweep per tenant, each sent from inside that tenant's schema."""
    from tenants.models import Tenant

    count = 0
    for schema in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            sweep_stale.delay()
        count += 1
    return count
