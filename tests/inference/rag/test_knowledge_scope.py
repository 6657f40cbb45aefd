"""`knowledge_visible_to`, the one scope check: a retailer's active policies are public to every tenant, its
playbooks only to itself and brands holding an active lease from it; shared knowledge is everyone's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from inference.rag.models import KnowledgeChunk
from inference.rag.selectors import knowledge_search, knowledge_visible_to
from tenants.leases import lease_grant, lease_revoke
from tests.inference.rag.conftest import source_ids

PRIVATE_QUESTION = "When is MegaMart's Fall Pantry Event and how early should display be booked?"


def _visible(tenant) -> set[tuple[str | None, str]]:
    """(owner slug, source kind) pairs the tenant may retrieve; the platform's owner shows as None."""
    chunks = knowledge_visible_to(tenant=tenant).select_related("retailer")
    return {(None if c.retailer.is_platform else c.retailer.slug, c.source_kind) for c in chunks}


def _megamart_playbook_ids() -> set[str]:
    return set(KnowledgeChunk.objects.filter(source_kind="playbook", retailer__slug="megamart")
               .values_list("source_id", flat=True))


def _lease(megamart):
    return lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})


def test_a_brand_without_a_lease_sees_policies_and_shared_knowledge_only(indexed, acme):
    assert _visible(acme) == {("megamart", "policy"), (None, "spec"), (None, "playbook")}


def test_a_brand_with_an_active_lease_also_sees_the_retailers_playbook(indexed, acme, megamart):
    _lease(megamart)

    assert _visible(acme) == {("megamart", "policy"), ("megamart", "playbook"), (None, "spec"), (None, "playbook")}


@pytest.mark.parametrize("ended", ["revoked", "expired"])
def test_a_lease_that_ended_no_longer_opens_the_playbook(indexed, acme, megamart, ended):
    lease = _lease(megamart)
    if ended == "revoked":
        lease_revoke(retailer=megamart, lease=lease, actor="user:megamart-admin")
    else:
        lease.expires_at = timezone.now() - dt.timedelta(seconds=1)
        lease.save(update_fields=["expires_at"])

    assert ("megamart", "playbook") not in _visible(acme)


def test_the_retailer_sees_its_own_playbook(indexed, megamart):
    assert ("megamart", "playbook") in _visible(megamart)


def test_only_the_active_versions_policies_are_visible(indexed, acme, megamart):
    # given a chunk of a version that is not MegaMart's active set (a retired or draft version left behind)
    KnowledgeChunk.objects.create(retailer=megamart, source_kind="policy", source_id="health-cure", version=99,
                                  title="old", text="old", content_sha256="0" * 64)

    # then nobody retrieves it, the retailer included
    for tenant in (acme, megamart):
        versions = set(knowledge_visible_to(tenant=tenant).filter(source_kind="policy").values_list("version",
                                                                                                    flat=True))
        assert versions == {1}


def test_a_search_without_a_lease_never_returns_the_private_playbook(indexed, acme, megamart, embed):
    # given a question that MegaMart's private playbook answers best
    [vector] = embed([PRIVATE_QUESTION])

    # when MegaMart itself asks, the playbook answers
    assert source_ids(knowledge_search(tenant=megamart, vector=vector, k=3))[0] == "megamart#seasonal-calendar"

    # but when a brand without a lease asks, none of the playbook comes back, however many results it asks for
    results = knowledge_search(tenant=acme, vector=vector, k=20)
    assert len(results) == 20
    assert not set(source_ids(results)) & _megamart_playbook_ids()

    # and with a lease, it does
    _lease(megamart)
    assert source_ids(knowledge_search(tenant=acme, vector=vector, k=3))[0] == "megamart#seasonal-calendar"
