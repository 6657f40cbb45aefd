"""Knowledge tasks on the `gpu` queue: re-index a retailer's chunks (a job), and answer one search (a task whose
result the web process waits for). The embedding model is imported inside them, never at module import."""

from __future__ import annotations

import os

from celery.signals import worker_ready
from django.db import connection

from rmn_saas.celery import app
from tenants.jobs.models import Job
from tenants.jobs.runner import job_task, require_tenant_schema
from tenants.jobs.services import job_progress
from tenants.models import Tenant, TenantKind


def _embed(texts: list[str]) -> list[list[float]]:
    from inference.rag.embedder import embed_texts

    return embed_texts(texts)


def _tenant_of_schema() -> Tenant:
    # The task's tenant is the one whose schema its header named, never one passed in its arguments.
    return Tenant.objects.get(schema_name=connection.schema_name)


@job_task(name="inference.rag_index")
def rag_index(job: Job) -> dict:
    """Re-index the retailer's chunks (its active policy set, its playbooks) and bring the platform's shared
    chunks (specs, shared playbooks) up to date; unchanged chunks are not embedded again."""
    from inference.rag.services import knowledge_index

    retailer = _tenant_of_schema()
    job_progress(job=job, progress=0.1, message="indexing the retailer's knowledge")
    result = knowledge_index(owner=retailer, embed=_embed)
    platform = Tenant.objects.filter(kind=TenantKind.PLATFORM).first()
    if platform is not None:
        job_progress(job=job, progress=0.6, message="indexing shared knowledge")
        result["platform"] = knowledge_index(owner=platform, embed=_embed)
    return result


@app.task(name="inference.rag_search", bind=True, ignore_result=False, acks_late=False)
def rag_search(self, *, query: str, k: int, retailer_id: int | None = None) -> list[dict]:
    """Embed the query and return the k nearest chunks the calling tenant may see, with citations."""
    from inference.rag.selectors import knowledge_search

    require_tenant_schema(self)
    retailer = None
    if retailer_id is not None:
        retailer = Tenant.objects.filter(pk=retailer_id).first()
        if retailer is None:
            return []  # deleted since the request named it
    [vector] = _embed([query])
    return knowledge_search(tenant=_tenant_of_schema(), vector=vector, k=k, retailer=retailer)


@worker_ready.connect
def preload_embedder(sender=None, **kwargs) -> None:
    # Only the worker that serves searches (queue `gpu`) loads the model at start, so the first search is fast.
    queues = getattr(getattr(sender, "task_consumer", None), "queues", None) or ()
    if os.environ.get("RMN_PRELOAD_MODEL") == "1" and any(queue.name == "gpu" for queue in queues):
        from inference.rag.embedder import get_embedder

        get_embedder()
