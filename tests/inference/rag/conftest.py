"""RAG fixtures: the real embedding model in this process (tests may import torch; the web process may not), and
an index of MegaMart's and the platform's knowledge built from scratch inside the test's transaction."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def embed():
    from inference.rag.embedder import embed_texts

    return embed_texts


@pytest.fixture
def indexed(db, embed, megamart, platform):
    """Only what this test indexes: MegaMart's active policy set and playbook, and the shared specs and playbooks."""
    from inference.rag.models import KnowledgeChunk
    from inference.rag.services import knowledge_index

    KnowledgeChunk.objects.all().delete()
    return {"megamart": knowledge_index(owner=megamart, embed=embed),
            "platform": knowledge_index(owner=platform, embed=embed)}


def source_ids(results: list[dict]) -> list[str]:
    return [result["source_id"] for result in results]
