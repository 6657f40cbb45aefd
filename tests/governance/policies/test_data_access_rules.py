"""`data_access_rules`: the clean-room terms of a retailer's active set, strictest where rules overlap, and strict
defaults where the retailer has said nothing."""

from __future__ import annotations

from governance.policies.models import PolicySet
from governance.policies.selectors import DATA_ACCESS_DEFAULTS, data_access_rules
from governance.policies.services import policy_activate, policy_import
from tests.governance.policies.conftest import rule


def test_megamarts_demo_terms(megamart):
    terms = data_access_rules("megamart")

    assert (terms["retailer"], terms["version"]) == ("megamart", 1)
    assert terms["default"] == {"k_min": 50, "dp_required": False, "epsilon_max": 1.0, "epsilon_daily_budget": 5.0,
                                "min_window_days": 7, "allowed_dimensions": None,
                                "rules": [["data-access-default", 1]]}
    # a view's own rule is at least as strict as the default
    assert terms["views"]["purchases"] == {
        "k_min": 50, "dp_required": False, "epsilon_max": 0.5, "epsilon_daily_budget": 5.0, "min_window_days": 7,
        "allowed_dimensions": ["gtin14", "region", "day", "week", "month"],
        "rules": [["data-access-default", 1], ["data-access-purchases", 1]]}
    assert terms["views"]["exposures"]["epsilon_max"] == 1.0
    assert sorted(terms["views"]) == ["exposures", "purchases", "segments"]


def test_a_view_rule_cannot_loosen_the_retailer_wide_floor(megamart):
    draft = policy_import(retailer=megamart, actor="test", document={"rules": [
        rule("floor", "data_access", {"views": ["*"], "k_min": 100, "dp_required": True, "epsilon_max": 0.5}),
        rule("loose", "data_access", {"views": ["sales"], "k_min": 10, "dp_required": False}),
    ]})
    policy_activate(retailer=megamart, version=draft.version, actor="test")

    sales = data_access_rules(megamart)["views"]["sales"]

    assert (sales["k_min"], sales["dp_required"], sales["epsilon_max"]) == (100, True, 0.5)


def test_without_an_active_set_the_defaults_apply(megamart):
    PolicySet.objects.filter(retailer=megamart).update(status="retired")

    assert data_access_rules(megamart) == {"retailer": "megamart", "version": None,
                                           "default": {**DATA_ACCESS_DEFAULTS, "rules": []}, "views": {}}
