"""Indexing: activating a policy set queues a re-index job in the retailer's schema; the job replaces the old
version's chunks with the new ones, and re-indexing unchanged sources embeds nothing."""

from __future__ import annotations

from django_tenants.utils import schema_context

from governance.policies.demo import MEGAMART_POLICY_RULES
from governance.policies.services import policy_activate, policy_import
from inference.rag.models import KnowledgeChunk
from inference.rag.services import knowledge_index
from inference.rag.tasks import rag_index
from tenants.jobs.models import Job
from tenants.jobs.services import job_start

V2_RULES = [rule for rule in MEGAMART_POLICY_RULES if rule["rule_id"] != "health-miracle"]


def _policy_chunks(megamart) -> set[tuple[str, int]]:
    return set(KnowledgeChunk.objects.filter(retailer=megamart, source_kind="policy")
               .values_list("source_id", "version"))


def test_activating_a_policy_set_reindexes_and_replaces_the_old_versions_chunks(
        indexed, megamart, django_capture_on_commit_callbacks):
    # given MegaMart's v1 indexed, and a v2 without the "miracle" rule
    assert _policy_chunks(megamart) == {(rule["rule_id"], 1) for rule in MEGAMART_POLICY_RULES}
    draft = policy_import(retailer=megamart, actor="user:megamart-admin",
                          document={"retailer": "megamart", "rules": V2_RULES})

    # when v2 is activated and the activation commits
    with django_capture_on_commit_callbacks() as callbacks:
        policy_activate(retailer=megamart, version=draft.version, actor="user:megamart-admin")
    for callback in callbacks:
        callback()

    # then a re-index job waits in MegaMart's own schema
    reason = f"policy v{draft.version} activated"
    with schema_context(megamart.schema_name):
        [job] = Job.objects.filter(kind="rag_index", params__reason=reason)
        assert (job.status, job.created_by) == ("queued", "user:megamart-admin")

        # and when the gpu worker runs it
        job_start(job=job)
        result = rag_index.job_function(job)

    # then only v2's chunks are left, each embedded once, and the shared knowledge was already current
    assert _policy_chunks(megamart) == {(rule["rule_id"], draft.version) for rule in V2_RULES}
    assert result["embedded"] == len(V2_RULES) and result["removed"] == len(MEGAMART_POLICY_RULES)
    assert (result["platform"]["embedded"], result["platform"]["removed"]) == (0, 0)
    assert not KnowledgeChunk.objects.filter(retailer=megamart).extra(where=["embedding IS NULL"]).exists()


def test_reindexing_unchanged_sources_embeds_nothing(indexed, megamart):
    calls = []

    def embed(texts):
        calls.append(texts)
        raise AssertionError("nothing should be embedded")

    result = knowledge_index(owner=megamart, embed=embed)

    assert calls == []
    assert (result["embedded"], result["removed"]) == (0, 0)
    assert result["chunks"] == indexed["megamart"]["chunks"] == len(MEGAMART_POLICY_RULES) + 5
