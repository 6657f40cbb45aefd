"""Who may use which adapter: own ones, the platform's task adapters, a retailer's when published or under an active
lease; never a retired one, another brand's or another tenant's draft. Missing and not-allowed are the same 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.exceptions import NotFound

from inference.adapters import access
from inference.adapters.access import (
    Decision,
    adapter_for_use,
    adapter_of_owner,
    adapter_usable,
    adapter_visible,
    adapters_visible,
)
from inference.adapters.services import adapter_retire
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.leases import lease_grant, lease_revoke
from tenants.models import Lease
from tests.conftest import api_client_for
from tests.inference.adapters.builders import adapter_made


def _lease(megamart, acme, **changes) -> Lease:
    lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": acme.slug, "days": 30})
    if changes:
        Lease.objects.filter(pk=lease.pk).update(**changes)
        lease.refresh_from_db()
    return lease


def _usable(tenant, adapter, retailer=None) -> Decision:
    return adapter_usable(tenant=tenant, adapter=adapter, retailer=retailer)


def test_own_adapters_are_usable_and_drafts_only_by_their_owner(acme, megamart):
    approved = adapter_made(acme, name="acme-voice")
    draft = adapter_made(acme, name="acme-voice", approve=False)

    assert _usable(acme, approved) == Decision(True, access.OWN)
    assert _usable(acme, draft) == Decision(True, access.OWN_DRAFT)
    # a retailer's draft is nobody else's business, even a leased brand's
    retailer_draft = adapter_made(megamart, name="megamart-voice", approve=False)
    _lease(megamart, acme)
    assert _usable(acme, retailer_draft) == Decision(False, access.NOT_APPROVED)


def test_another_brands_adapter_is_the_same_404_as_a_missing_one(acme, globex):
    theirs = adapter_made(globex, name="globex-voice")

    assert _usable(acme, theirs) == Decision(False, access.NOT_SHARED.format(tenant="Acme Foods"))
    for adapter_id in (theirs.pk, theirs.pk + 1000, "x", True):
        with pytest.raises(NotFound) as caught:
            adapter_for_use(tenant=acme, adapter_id=adapter_id)
        assert caught.value.detail == NOT_FOUND_MESSAGE
    # and over the API the answers are identical
    client = api_client_for(acme, username="acme-viewer")
    theirs_response = client.get(f"/api/v1/adapters/{theirs.pk}")
    missing_response = client.get(f"/api/v1/adapters/{theirs.pk + 1000}")
    assert theirs_response.status_code == missing_response.status_code == 404
    assert theirs_response.json() == missing_response.json() == {
        "error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}}


def test_platform_task_adapters_are_usable_by_every_tenant_once_approved(acme, megamart, platform):
    task = adapter_made(platform, name="ad-copy", task="ad_copy")
    draft = adapter_made(platform, name="summaries", task="summarize", approve=False)

    reason = access.TASK.format(task="ad_copy")
    assert _usable(acme, task) == _usable(megamart, task) == Decision(True, reason)
    assert _usable(acme, draft) == Decision(False, access.NOT_APPROVED)
    assert adapter_for_use(tenant=megamart, adapter_id=task.pk) == task


def test_a_published_retailer_adapter_is_usable_by_every_brand_but_not_by_other_retailers(acme, globex, megamart,
                                                                                          othermart):
    published = adapter_made(megamart, name="megamart-voice", published=True)

    expected = Decision(True, access.PUBLISHED.format(retailer="MegaMart"))
    assert _usable(acme, published) == _usable(globex, published) == expected
    assert _usable(othermart, published) == Decision(False, access.NOT_SHARED.format(tenant="OtherMart"))


def test_an_unpublished_retailer_adapter_needs_an_active_lease(acme, megamart):
    adapter = adapter_made(megamart, name="megamart-voice")

    # no lease at all
    assert _usable(acme, adapter) == Decision(False, access.NO_LEASE.format(brand="Acme Foods", retailer="MegaMart"))
    # an active one
    lease = _lease(megamart, acme)
    assert _usable(acme, adapter) == Decision(True, access.LEASED.format(lease=lease.pk, retailer="MegaMart",
                                                                         until=lease.expires_at))
    assert adapter_for_use(tenant=acme, adapter_id=adapter.pk) == adapter


def test_an_expired_lease_does_not_grant_the_retailers_adapters(acme, megamart):
    adapter = adapter_made(megamart, name="megamart-voice")
    ended = timezone.now() - dt.timedelta(days=2)
    lease = _lease(megamart, acme, expires_at=ended)

    decision = _usable(acme, adapter)

    assert decision == Decision(False, access.LEASE_ENDED.format(
        lease=f"lease {lease.pk} expired on {ended:%Y-%m-%d}"))
    with pytest.raises(NotFound):
        adapter_for_use(tenant=acme, adapter_id=adapter.pk)


def test_a_revoked_lease_does_not_grant_the_retailers_adapters(acme, megamart):
    adapter = adapter_made(megamart, name="megamart-voice")
    lease = lease_revoke(retailer=megamart, lease=_lease(megamart, acme), actor="user:megamart-admin")

    assert _usable(acme, adapter) == Decision(False, access.LEASE_ENDED.format(
        lease=f"lease {lease.pk} was revoked by MegaMart on {lease.revoked_at:%Y-%m-%d}"))


def test_a_revoked_lease_beside_an_active_one_still_grants(acme, megamart):
    adapter = adapter_made(megamart, name="megamart-voice")
    active = _lease(megamart, acme)
    lease_revoke(retailer=megamart, lease=_lease(megamart, acme), actor="user:megamart-admin")

    assert _usable(acme, adapter).reason == access.LEASED.format(lease=active.pk, retailer="MegaMart",
                                                                 until=active.expires_at)


def test_retired_adapters_are_usable_by_nobody_but_stay_visible_to_their_owner(acme, megamart):
    own = adapter_made(acme, name="acme-voice")
    leased = adapter_made(megamart, name="megamart-voice", published=True)
    _lease(megamart, acme)
    for adapter in (own, leased):
        adapter_retire(adapter=adapter, actor="user:test")
        adapter.refresh_from_db()

    assert _usable(acme, own) == _usable(acme, leased) == Decision(False, access.RETIRED)
    with pytest.raises(NotFound):
        adapter_for_use(tenant=acme, adapter_id=own.pk)
    assert adapter_visible(tenant=acme, adapter_id=own.pk) == (own, Decision(False, access.RETIRED))
    with pytest.raises(NotFound):
        adapter_visible(tenant=acme, adapter_id=leased.pk)


def test_a_retailer_context_admits_only_that_retailers_adapters(acme, megamart, othermart):
    theirs = adapter_made(othermart, name="othermart-voice", published=True)

    assert _usable(acme, theirs) == Decision(True, access.PUBLISHED.format(retailer="OtherMart"))
    assert _usable(acme, theirs, retailer=megamart) == Decision(
        False, access.OTHER_RETAILER.format(owner="OtherMart", retailer="MegaMart"))
    with pytest.raises(NotFound):
        adapter_for_use(tenant=acme, adapter_id=theirs.pk, retailer=megamart)


def test_only_the_owner_manages_an_adapter(acme, megamart):
    published = adapter_made(megamart, name="megamart-voice", published=True)

    assert adapter_of_owner(tenant=megamart, adapter_id=published.pk) == published
    # acme may use it, but not manage it
    with pytest.raises(NotFound):
        adapter_of_owner(tenant=acme, adapter_id=published.pk)


def test_a_tenant_sees_its_own_adapters_and_those_it_may_use(acme, globex, megamart, othermart, platform):
    own_draft = adapter_made(acme, name="acme-voice", approve=False)
    own_retired = adapter_retire(adapter=adapter_made(acme, name="acme-old"), actor="user:test")
    task = adapter_made(platform, name="ad-copy", task="ad_copy")
    leased = adapter_made(megamart, name="megamart-voice")
    published = adapter_made(othermart, name="othermart-voice", published=True)
    adapter_made(othermart, name="othermart-private")
    adapter_made(globex, name="globex-voice")
    adapter_made(platform, name="summaries", task="summarize", approve=False)
    _lease(megamart, acme)

    seen = {adapter.pk for adapter, _ in adapters_visible(tenant=acme)}

    assert seen == {own_draft.pk, own_retired.pk, task.pk, leased.pk, published.pk}
