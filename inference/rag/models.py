"""Knowledge chunks for retrieval (public schema): retailer policies, playbooks and network specs, each owned by
the tenant whose source it is (a retailer, or the platform for shared knowledge).

The 384-dim `embedding vector` column is not a Django field: migration 0002 adds it with pgvector, the index task
writes it and the search reads it, both in SQL (`inference/rag/services.py`, `selectors.py`).
"""

from __future__ import annotations

from django.db import models

from rmn_saas.base_models import BaseModel
from tenants.models import Tenant

EMBEDDING_DIMENSIONS = 384


class SourceKind(models.TextChoices):
    POLICY = "policy", "Policy"
    PLAYBOOK = "playbook", "Playbook"
    SPEC = "spec", "Spec"


class KnowledgeChunk(BaseModel):
    retailer = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="knowledge_chunks",
                                 help_text="The source's owner: a retailer, or the platform for shared knowledge.")
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_id = models.CharField(max_length=200, help_text="Policy rule id, spec name or playbook#section.")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    text = models.TextField()
    # What the chunk was embedded from: a re-index re-embeds only chunks whose content changed.
    content_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["retailer", "source_kind", "source_id"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "source_kind", "source_id", "version"],
                                    name="knowledgechunk_source_unique"),
            models.CheckConstraint(condition=models.Q(source_kind__in=SourceKind.values),
                                   name="knowledgechunk_kind_valid"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="knowledgechunk_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.source_kind} {self.source_id} v{self.version}"
