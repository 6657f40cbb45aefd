"""Policy sets in the admins: a retailer's admin sees and edits only its own (drafts only), a brand's admin sees
none, platform staff see every retailer's."""

from __future__ import annotations

import json

import pytest

from governance.policies.demo import MEGAMART_POLICY_RULES
from governance.policies.models import PolicyRule, PolicySet
from governance.policies.services import policy_import
from tenants.models import Tenant
from tests.conftest import audit_rows, page_client_for

CHANGELIST = "/admin/policies/policyset/"
NO_INLINES = {"rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"}


@pytest.fixture
def othermart(db):
    """A second retailer with a draft policy set (no schema: the policy tables are public)."""
    tenant = Tenant(schema_name="othermart", slug="othermart", name="OtherMart", kind="retailer")
    tenant.auto_create_schema = False
    tenant.save()
    policy_import(retailer=tenant, document={"rules": [MEGAMART_POLICY_RULES[0]], "notes": "OtherMart house rules"},
                  actor="test")
    return tenant


def test_a_retailer_admin_sees_only_its_own_policy_sets(megamart, othermart):
    client = page_client_for(megamart, username="megamart-admin")

    listed = client.get(CHANGELIST)

    assert listed.status_code == 200
    megamart_set = PolicySet.objects.get(retailer=megamart)
    othermart_set = PolicySet.objects.get(retailer=othermart)
    assert f"{CHANGELIST}{megamart_set.pk}/change/".encode() in listed.content
    assert f"{CHANGELIST}{othermart_set.pk}/change/".encode() not in listed.content
    # and another retailer's set is as missing as a set that does not exist
    assert client.get(f"{CHANGELIST}{othermart_set.pk}/change/").status_code == 302


def test_platform_staff_see_every_retailers_policy_sets(platform, megamart, othermart):
    listed = page_client_for(platform, username="platform-admin").get(CHANGELIST)

    assert listed.status_code == 200
    for policy_set in PolicySet.objects.all():
        assert f"{CHANGELIST}{policy_set.pk}/change/".encode() in listed.content


def test_platform_staff_start_a_draft_for_any_retailer(platform, megamart):
    client = page_client_for(platform, username="platform-admin")

    response = client.post(f"{CHANGELIST}add/", {"retailer": str(megamart.pk), "notes": "Drafted by support",
                                                  "document": "", **NO_INLINES})

    assert response.status_code == 302, response.content
    draft = PolicySet.objects.get(retailer=megamart, version=2)
    assert (draft.status, draft.created_by, draft.rules.count()) == ("draft", "user:platform-admin", 0)
    # a brand is not offered as the owner of a policy set
    assert client.post(f"{CHANGELIST}add/", {"retailer": str(Tenant.objects.get(slug="acme").pk), "notes": "",
                                             **NO_INLINES}).status_code == 200


def test_a_brand_admin_has_no_policy_admin(acme):
    client = page_client_for(acme, username="acme-admin")

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert b"/admin/policies/" not in client.get("/admin/").content


def test_a_retailer_admin_imports_a_document_as_a_new_draft(megamart):
    client = page_client_for(megamart, username="megamart-admin")
    document = {"retailer": "megamart", "rules": MEGAMART_POLICY_RULES[:3]}

    response = client.post(f"{CHANGELIST}add/", {"notes": "Spring refresh", "document": json.dumps(document),
                                                  **NO_INLINES})

    assert response.status_code == 302, response.content
    draft = PolicySet.objects.get(retailer=megamart, version=2)
    assert (draft.status, draft.notes, draft.created_by) == ("draft", "Spring refresh", "user:megamart-admin")
    assert list(draft.rules.values_list("rule_id", flat=True)) == [r["rule_id"] for r in MEGAMART_POLICY_RULES[:3]]
    assert [row.object_id for row in audit_rows(megamart, action="policy.import")] == ["megamart:v2"]


def test_a_malformed_document_in_the_admin_is_refused_naming_the_entry(megamart):
    client = page_client_for(megamart, username="megamart-admin")
    rules = [MEGAMART_POLICY_RULES[0], {**MEGAMART_POLICY_RULES[1], "kind": "banned_word"}]

    response = client.post(f"{CHANGELIST}add/", {"notes": "", "document": json.dumps({"rules": rules}),
                                                  **NO_INLINES})

    assert response.status_code == 200  # the form comes back
    assert b"rules[1].kind: Must be one of" in response.content
    assert PolicySet.objects.filter(retailer=megamart).count() == 1


def test_drafts_are_edited_rule_by_rule_and_a_bad_spec_is_refused(megamart):
    client = page_client_for(megamart, username="megamart-admin")
    draft = policy_import(retailer=megamart, document={"rules": [MEGAMART_POLICY_RULES[0]]}, actor="test")
    rule = draft.rules.get()
    form = {"notes": "", "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1", "rules-0-id": str(rule.pk),
            "rules-0-policy_set": str(draft.pk), "rules-0-rule_id": rule.rule_id, "rules-0-kind": rule.kind,
            "rules-0-severity": "warn", "rules-0-category": rule.category}

    refused = client.post(f"{CHANGELIST}{draft.pk}/change/",
                          {**form, "rules-0-spec": json.dumps({"match": "regex", "pattern": "(x"})})
    saved = client.post(f"{CHANGELIST}{draft.pk}/change/",
                        {**form, "rules-0-spec": json.dumps({"match": "word", "pattern": "cure"})})

    assert refused.status_code == 200
    assert b"spec.pattern: Not a valid regular expression" in refused.content
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.severity, rule.spec) == ("warn", {"match": "word", "pattern": "cure"})


def test_an_active_set_is_read_only_and_is_edited_by_copying_it(megamart):
    client = page_client_for(megamart, username="megamart-admin")
    active = PolicySet.objects.get(retailer=megamart, status="active")
    rules_before = list(PolicyRule.objects.filter(policy_set=active).values_list("rule_id", "spec"))

    # an edit of the active set is refused
    edited = client.post(f"{CHANGELIST}{active.pk}/change/", {"notes": "changed", **NO_INLINES})
    assert edited.status_code == 403
    # copying makes draft version 2 with the same rules, and activating it retires version 1
    copied = client.post(CHANGELIST, {"action": "copy_as_draft", "_selected_action": [active.pk]})
    assert copied.status_code == 302
    draft = PolicySet.objects.get(retailer=megamart, version=2)
    assert list(draft.rules.values_list("rule_id", "spec")) == rules_before
    client.post(CHANGELIST, {"action": "activate", "_selected_action": [draft.pk]})
    assert dict(PolicySet.objects.filter(retailer=megamart).values_list("version", "status")) == {
        1: "retired", 2: "active"}
    assert [row.action for row in audit_rows(megamart, action__startswith="policy.")] == [
        "policy.copy", "policy.activate"]


def test_the_admin_exports_a_version_as_json(megamart):
    active = PolicySet.objects.get(retailer=megamart, status="active")

    response = page_client_for(megamart, username="megamart-admin").post(
        CHANGELIST, {"action": "export_json", "_selected_action": [active.pk]})

    assert response["Content-Disposition"] == 'attachment; filename="megamart-policies-v1.json"'
    assert json.loads(response.content) == {"retailer": "megamart", "version": 1, "rules": MEGAMART_POLICY_RULES}
