"""Reading knowledge: what each tenant may retrieve (`knowledge_visible_to`, the one scope check), the vector
search under it, and the chunks each owner's sources should have in the index.

Scope: a retailer's policies are public while they are its active set (retailers publish their ad rules to every
advertiser, as `creative_check` does), so any tenant retrieves the rules of any retailer's active set, at that
version only. Everything else a retailer owns (its playbooks and specs) is for the retailer and for brands holding
an active lease from it (not revoked, not expired). What the platform owns is shared with everyone.
"""

from __future__ import annotations

from django.db.models import Exists, FloatField, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from governance.policies.models import PolicySet, PolicyStatus
from inference.rag.chunking import Chunk, playbooks, policy_chunks, spec_chunks, spec_documents
from inference.rag.models import EMBEDDING_DIMENSIONS, KnowledgeChunk, SourceKind
from tenants.models import Lease, Tenant, TenantKind

MAX_K = 20


def knowledge_visible_to(*, tenant: Tenant) -> QuerySet[KnowledgeChunk]:
    """Every chunk `tenant` may retrieve (see the module docstring); the search never reads any other."""
    active_version = PolicySet.objects.filter(retailer=OuterRef("retailer"), version=OuterRef("version"),
                                              status=PolicyStatus.ACTIVE)
    leased_from = Lease.objects.filter(brand=tenant, revoked_at__isnull=True,
                                       expires_at__gt=timezone.now()).values("retailer")
    policies = Q(source_kind=SourceKind.POLICY) & Exists(active_version)
    others = ~Q(source_kind=SourceKind.POLICY) & (
        Q(retailer__kind=TenantKind.PLATFORM) | Q(retailer=tenant) | Q(retailer__in=leased_from))
    return KnowledgeChunk.objects.filter(policies | others)


def vector_literal(vector: list[float]) -> str:
    """pgvector's text form, '[0.1,0.2,...]', for a `%s::vector` parameter."""
    if len(vector) != EMBEDDING_DIMENSIONS:
        raise ValueError(f"expected a {EMBEDDING_DIMENSIONS}-dim vector, got {len(vector)}")
    return "[" + ",".join(f"{float(value):.8g}" for value in vector) + "]"


def citation_of(chunk: KnowledgeChunk) -> str:
    owner = chunk.retailer
    if chunk.source_kind == SourceKind.POLICY:
        return f"{owner.name} ad policy v{chunk.version}, rule {chunk.source_id}"
    if chunk.source_kind == SourceKind.SPEC:
        return f"mapping spec {chunk.source_id} v{chunk.version}"
    return f"{chunk.title} (playbook {chunk.source_id} v{chunk.version})"


def knowledge_search(*, tenant: Tenant, vector: list[float], k: int, retailer: Tenant | None = None) -> list[dict]:
    """The k chunks nearest to `vector` (cosine) among those `tenant` may see — only `retailer`'s when given —
    each with its citation and score (cosine similarity), best first."""
    table = KnowledgeChunk._meta.db_table
    chunks = knowledge_visible_to(tenant=tenant).select_related("retailer")
    if retailer is not None:
        chunks = chunks.filter(retailer=retailer)
    chunks = chunks.annotate(distance=RawSQL(f'"{table}"."embedding" <=> %s::vector',  # noqa: S611 - fixed SQL
                                             (vector_literal(vector),), output_field=FloatField()))
    nearest = chunks.filter(distance__isnull=False).order_by("distance", "id")[:min(k, MAX_K)]
    return [{
        "retailer": None if chunk.retailer.kind == TenantKind.PLATFORM else chunk.retailer.slug,
        "source_kind": chunk.source_kind, "source_id": chunk.source_id, "version": chunk.version,
        "title": chunk.title, "text": chunk.text, "score": round(1.0 - chunk.distance, 6),
        "citation": citation_of(chunk),
    } for chunk in nearest]


def knowledge_sources(*, owner: Tenant) -> list[Chunk]:
    """The chunks the owner's sources make today: a retailer's active policy set and its own playbooks; for the
    platform, the built-in mapping specs and the shared playbooks. Playbooks naming an unknown retailer are skipped."""
    from campaigns.harmonize.specs import SPECS_DIR
    from governance.policies.selectors import policy_rules, policy_set_active

    chunks: list[Chunk] = []
    if owner.kind == TenantKind.PLATFORM:
        chunks += spec_chunks(spec_documents(SPECS_DIR))
    else:
        policy_set = policy_set_active(retailer=owner)
        if policy_set is not None:
            chunks += policy_chunks(retailer_name=owner.name, version=policy_set.version,
                                    rules=policy_rules(policy_set=policy_set))
    mine = None if owner.kind == TenantKind.PLATFORM else owner.slug
    for playbook in playbooks():
        if playbook.retailer == mine:
            chunks += playbook.chunks
    return chunks
