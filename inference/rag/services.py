"""Writing the knowledge index and asking it questions.

`knowledge_index` brings one owner's chunks in line with its sources (only changed chunks are embedded again);
the gpu worker runs it as the `inference.rag_index` job, queued by `knowledge_index_request` whenever a retailer
activates a policy set. `knowledge_search_request` is the web side of a search: it checks the request and waits
(briefly) for the gpu worker, which embeds the question and searches under the caller's scope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import connection, transaction
from django_tenants.utils import schema_context

from inference.rag.models import KnowledgeChunk
from inference.rag.selectors import MAX_K, knowledge_sources, vector_literal
from rmn_saas.errors import ApiError
from tenants.jobs.models import Job
from tenants.jobs.services import job_create
from tenants.models import Tenant

logger = logging.getLogger(__name__)

SEARCH_TIMEOUT_S = 20.0
MAX_QUERY_CHARS = 1000
QUERY_REQUIRED = "A non-empty query is required."
QUERY_TOO_LONG = f"The query is longer than {MAX_QUERY_CHARS} characters."
K_OUT_OF_RANGE = f"k must be between 1 and {MAX_K}."
SEARCH_UNAVAILABLE = "Knowledge search is not answering right now; try again shortly."

Embed = Callable[[list[str]], list[list[float]]]


def knowledge_index(*, owner: Tenant, embed: Embed) -> dict:
    """Make the owner's indexed chunks exactly those its sources make now: stale ones (a retired policy version,
    an edited playbook section) go, new or changed ones are embedded and stored, unchanged ones stay."""
    wanted = {chunk.key: chunk for chunk in knowledge_sources(owner=owner)}
    have = {(row.source_kind, row.source_id, row.version): row.content_sha256
            for row in KnowledgeChunk.objects.filter(retailer=owner)}
    new = [chunk for key, chunk in wanted.items() if have.get(key) != chunk.content_sha256]
    # The slow part, embedding, runs before the transaction: nobody waits on a lock meanwhile.
    vectors = embed([f"{chunk.title}\n{chunk.text}" for chunk in new]) if new else []
    with transaction.atomic():
        # Serializes two indexings of one owner; a policy activation takes the same lock.
        Tenant.objects.select_for_update().filter(pk=owner.pk).first()
        rows = {(row.source_kind, row.source_id, row.version): row
                for row in KnowledgeChunk.objects.filter(retailer=owner)}
        stale = [row.pk for key, row in rows.items()
                 if key not in wanted or row.content_sha256 != wanted[key].content_sha256]
        KnowledgeChunk.objects.filter(pk__in=stale).delete()
        fresh = {key: row for key, row in rows.items() if row.pk not in stale}
        created = KnowledgeChunk.objects.bulk_create([
            KnowledgeChunk(retailer=owner, source_kind=chunk.source_kind, source_id=chunk.source_id,
                           version=chunk.version, title=chunk.title, text=chunk.text,
                           content_sha256=chunk.content_sha256)
            for chunk in new if chunk.key not in fresh
        ])
        by_key = {(row.source_kind, row.source_id, row.version): row.pk for row in created}
        table = KnowledgeChunk._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f'UPDATE "{table}" SET embedding = %s::vector WHERE id = %s',  # noqa: S608 - our table name
                [(vector_literal(vector), by_key[chunk.key]) for chunk, vector in zip(new, vectors, strict=True)
                 if chunk.key in by_key],
            )
    return {"owner": owner.slug, "chunks": len(wanted), "embedded": len(created), "removed": len(stale)}


def knowledge_index_request(*, retailer: Tenant, actor: str, reason: str) -> Job:
    """Queue the `inference.rag_index` job in the retailer's own schema (its job list shows it)."""
    from inference.rag.tasks import rag_index

    with schema_context(retailer.schema_name):
        return job_create(kind="rag_index", actor=actor, params={"reason": reason}, task=rag_index)


def knowledge_index_on_commit(*, retailer: Tenant, actor: str, reason: str) -> None:
    """Re-index once the surrounding transaction commits; a broker outage never undoes what was committed."""
    def queue() -> None:
        try:
            knowledge_index_request(retailer=retailer, actor=actor, reason=reason)
        except Exception:
            logger.exception("could not queue the knowledge re-index of %s", retailer.slug)

    transaction.on_commit(queue)


def knowledge_search_request(*, query: str, k: int, retailer_slug: str | None = None) -> list[dict]:
    """Search on behalf of the current tenant (the connection's schema): the gpu worker embeds the query and
    searches under that tenant's scope. Waits at most SEARCH_TIMEOUT_S, then answers 503."""
    from celery.exceptions import TimeoutError as CeleryTimeout
    from kombu.exceptions import OperationalError

    from governance.policies.selectors import retailer_by_slug
    from inference.rag.tasks import rag_search

    if not query or not query.strip():
        raise ApiError(status_code=400, code="invalid", message=QUERY_REQUIRED, details={"query": QUERY_REQUIRED})
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError(status_code=400, code="invalid", message=QUERY_TOO_LONG, details={"query": QUERY_TOO_LONG})
    if not 1 <= k <= MAX_K:
        raise ApiError(status_code=400, code="invalid", message=K_OUT_OF_RANGE, details={"k": K_OUT_OF_RANGE})
    retailer = retailer_by_slug(slug=retailer_slug) if retailer_slug else None
    try:
        # `expires`: a search nobody waits for any more is dropped rather than run late.
        pending = rag_search.apply_async(kwargs={"query": query, "k": k,
                                                 "retailer_id": retailer.pk if retailer else None},
                                         expires=SEARCH_TIMEOUT_S)
        return pending.get(timeout=SEARCH_TIMEOUT_S)
    except (CeleryTimeout, OperationalError) as exc:
        logger.warning("knowledge search failed: %s", exc)
        raise ApiError(status_code=503, code="search_unavailable", message=SEARCH_UNAVAILABLE) from exc
