"""The router: per kind the newest approved adapter the tenant may use on the served base model, in the order
[retailer, brand, task], with an explanation of what was chosen and why, and of what was skipped and why."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from django.conf import settings
from rest_framework.exceptions import NotFound

from inference.adapters import access
from inference.adapters import router as R
from inference.adapters.services import adapter_retire
from rmn_saas.errors import ApiError
from tenants.leases import lease_grant
from tests.inference.adapters.builders import adapter_made

LLAMA = "meta-llama/Llama-3.1-8B"


@pytest.fixture
def base() -> str:
    return settings.RMN_BASE_MODEL


@pytest.fixture
def catalogue(acme, megamart, platform, base):
    """MegaMart's voice (not published), acme's voice, and the platform's ad-copy adapters: v1 on the served base
    model, v2 (newer) on another one, v3 still a draft."""
    return {
        "megamart": adapter_made(megamart, name="megamart-voice"),
        "acme": adapter_made(acme, name="acme-voice"),
        "copy_v1": adapter_made(platform, name="ad-copy", task="ad_copy"),
        "copy_v2": adapter_made(platform, name="ad-copy", task="ad_copy", base_model=LLAMA),
        "copy_v3": adapter_made(platform, name="ad-copy", task="ad_copy", approve=False),
    }


def _lease(megamart, acme):
    return lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme", "days": 30})


def _ids(route: R.Route) -> list[int]:
    return [ref.id for ref in route.stack]


def test_a_brand_under_lease_gets_the_full_stack_in_order(acme, megamart, catalogue, base):
    lease = _lease(megamart, acme)

    route = R.route(tenant=acme, task="ad_copy", retailer="megamart")

    assert _ids(route) == [catalogue["megamart"].pk, catalogue["acme"].pk, catalogue["copy_v1"].pk]
    assert [(ref.kind, ref.name, ref.version, ref.owner) for ref in route.stack] == [
        ("retailer", "megamart-voice", 1, "megamart"), ("brand", "acme-voice", 1, "acme"),
        ("task", "ad-copy", 1, "public")]
    assert route.explanation == [
        f"retailer: megamart-voice v1 of MegaMart — under lease {lease.pk} from MegaMart, active until "
        f"{lease.expires_at:%Y-%m-%d}",
        "brand: acme-voice v1 of Acme Foods — own adapter",
        "task: ad-copy v1 of RMN Copilot Platform — platform task adapter for task 'ad_copy'",
        f"stack on {base}: megamart-voice v1, acme-voice v1, ad-copy v1",
    ]
    # the newer task adapter is for another base model: skipped, and said so
    assert route.skipped == [{"kind": "task", "adapter": asdict(R.AdapterRef.of(catalogue["copy_v2"])),
                              "reason": f"base model {LLAMA}, not {base}"}]
    assert (route.base_model, route.task, route.retailer) == (base, "ad_copy", "megamart")


def test_without_a_lease_the_retailers_adapters_are_skipped_unnamed(acme, catalogue, base):
    route = R.route(tenant=acme, task="ad_copy", retailer="megamart")

    assert _ids(route) == [catalogue["acme"].pk, catalogue["copy_v1"].pk]
    assert route.explanation[0] == (f"retailer: none — no approved retailer adapter of MegaMart that Acme Foods may "
                                    f"use on {base}")
    assert route.skipped[0] == {"kind": "retailer", "adapter": None, "reason": (
        "MegaMart's retailer adapters: " + access.NO_LEASE.format(brand="Acme Foods", retailer="MegaMart"))}
    # nothing in the answer names the adapter acme may not use
    assert "megamart-voice" not in str(route.as_dict())


def test_without_a_retailer_context_there_is_no_retailer_adapter(acme, catalogue, base):
    route = R.route(tenant=acme, task="ad_copy")

    assert _ids(route) == [catalogue["acme"].pk, catalogue["copy_v1"].pk]
    assert route.explanation[0] == R.NO_RETAILER
    assert route.retailer is None


def test_a_retailer_routes_in_its_own_context_with_no_brand_adapter(megamart, catalogue, base):
    route = R.route(tenant=megamart, task="ad_copy")

    assert _ids(route) == [catalogue["megamart"].pk, catalogue["copy_v1"].pk]
    assert route.explanation[:2] == ["retailer: megamart-voice v1 of MegaMart — own adapter",
                                     "brand: none — MegaMart is a retailer, not a brand"]
    assert route.retailer == "megamart"


def test_the_newest_approved_adapter_wins_and_retired_or_draft_ones_never(acme, catalogue, base):
    newer = adapter_made(acme, name="acme-voice")
    newest = adapter_made(acme, name="acme-voice")
    adapter_retire(adapter=newest, actor="user:test")
    adapter_made(acme, name="acme-voice", approve=False)

    route = R.route(tenant=acme, task="ad_copy")

    assert route.stack[0].id == newer.pk
    assert route.explanation[1] == "brand: acme-voice v2 of Acme Foods — own adapter"


def test_no_adapter_for_the_task_leaves_the_base_model_alone(acme, base):
    route = R.route(tenant=acme, task="summarize")

    assert route.stack == [] and route.skipped == []
    assert route.explanation == [
        R.NO_RETAILER,
        f"brand: none — no approved brand adapter of Acme Foods that Acme Foods may use on {base}",
        f"task: none — no approved task adapter for task 'summarize' that Acme Foods may use on {base}",
        f"no adapters: the base model {base} alone",
    ]


def test_another_base_model_is_asked_for_explicitly(acme, catalogue):
    route = R.route(tenant=acme, task="ad_copy", base_model=LLAMA)

    assert _ids(route) == [catalogue["copy_v2"].pk]
    assert route.skipped == [{"kind": "brand", "adapter": asdict(R.AdapterRef.of(catalogue["acme"])),
                              "reason": f"base model {settings.RMN_BASE_MODEL}, not {LLAMA}"}]


def test_an_explicit_stack_is_ordered_and_explained(acme, megamart, catalogue, base):
    draft = adapter_made(acme, name="acme-promo", approve=False)
    _lease(megamart, acme)

    route = R.route(tenant=acme, task="ad_copy", explicit=[catalogue["copy_v1"].pk, draft.pk,
                                                           catalogue["megamart"].pk])

    assert _ids(route) == [catalogue["megamart"].pk, draft.pk, catalogue["copy_v1"].pk]
    assert route.explanation[1] == f"brand: acme-promo v1 of Acme Foods — named by the request; {access.OWN_DRAFT}"
    assert route.explanation[3] == f"stack on {base}: megamart-voice v1, acme-promo v1, ad-copy v1"
    only_task = R.route(tenant=acme, task="ad_copy", explicit=[catalogue["copy_v1"].pk])
    assert only_task.explanation[:2] == ["retailer: none — not named by the request",
                                         "brand: none — not named by the request"]


def test_an_explicit_adapter_the_tenant_may_not_use_is_the_same_404_as_a_missing_one(acme, catalogue):
    for unusable in (catalogue["megamart"].pk, catalogue["copy_v3"].pk, 10**9):
        with pytest.raises(NotFound):
            R.route(tenant=acme, task="ad_copy", explicit=[catalogue["acme"].pk, unusable])


def test_an_explicit_adapter_for_another_base_model_is_incompatible(acme, catalogue, base):
    with pytest.raises(ApiError) as caught:
        R.route(tenant=acme, task="ad_copy", explicit=[catalogue["acme"].pk, catalogue["copy_v2"].pk])

    adapter = catalogue["copy_v2"]
    assert (caught.value.status_code, caught.value.error_code) == (400, "incompatible_adapter")
    assert str(caught.value.detail) == R.INCOMPATIBLE_BASE.format(id=adapter.pk, label="ad-copy v2", found=LLAMA,
                                                                  wanted=base)


def test_two_adapters_of_a_kind_or_one_twice_are_refused(acme, catalogue):
    second = adapter_made(acme, name="acme-promo")

    with pytest.raises(ApiError) as caught:
        R.route(tenant=acme, task="ad_copy", explicit=[catalogue["acme"].pk, second.pk])
    assert str(caught.value.detail) == R.TWO_OF_A_KIND.format(kind="brand", first="acme-voice v1",
                                                              second="acme-promo v1")
    with pytest.raises(ApiError) as caught:
        R.route(tenant=acme, task="ad_copy", explicit=[second.pk, second.pk])
    assert str(caught.value.detail) == R.NAMED_TWICE.format(id=second.pk)


def test_an_unknown_retailer_is_404(acme):
    for slug in ("nomart", "acme"):
        with pytest.raises(ApiError) as caught:
            R.route(tenant=acme, task="ad_copy", retailer=slug)
        assert (caught.value.status_code, caught.value.error_code, str(caught.value.detail)) == (
            404, "unknown_retailer", R.UNKNOWN_RETAILER.format(slug=slug))
