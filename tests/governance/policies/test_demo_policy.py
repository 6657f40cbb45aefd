"""MegaMart's demo ad policies: a realistic set (at least 30 rules over every kind), all valid, seeded active."""

from __future__ import annotations

from collections import Counter

from django.core.management import call_command

from governance.policies.demo import MEGAMART_POLICY_RULES
from governance.policies.models import PolicySet, RuleKind
from governance.policies.rules import rule_validate


def test_the_demo_set_has_at_least_30_rules_of_every_kind():
    kinds = Counter(rule["kind"] for rule in MEGAMART_POLICY_RULES)
    assert len(MEGAMART_POLICY_RULES) >= 30
    assert set(kinds) == set(RuleKind.values)
    assert len({rule["rule_id"] for rule in MEGAMART_POLICY_RULES}) == len(MEGAMART_POLICY_RULES)


def test_every_demo_rule_validates():
    for rule in MEGAMART_POLICY_RULES:
        rule_validate(rule)  # raises on the first problem


def test_seed_demo_loads_megamarts_policies_once(megamart):
    # given the seeded database, where megamart's demo set is active
    [seeded] = PolicySet.objects.filter(retailer=megamart)
    assert (seeded.version, seeded.status, seeded.rules.count()) == (1, "active", len(MEGAMART_POLICY_RULES))

    # when seeding again
    call_command("seed_demo", "--no-data", stdout=open("/dev/null", "w"))  # noqa: SIM115

    # then nothing new exists
    assert list(PolicySet.objects.filter(retailer=megamart).values_list("pk", flat=True)) == [seeded.pk]
