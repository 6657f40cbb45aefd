"""/api/v1/governance/policies…: a retailer imports, exports and activates versions of its ad policies; a malformed
import is refused whole; brands cannot manage policies. /api/v1/governance/check-creative: anyone checks a creative
against a retailer's active set."""

from __future__ import annotations

import copy

import pytest

from governance.policies import rules as R
from governance.policies.api import NO_TEXT, RETAILERS_ONLY, TEXT_OR_BODY
from governance.policies.demo import MEGAMART_POLICY_RULES
from governance.policies.models import PolicyRule, PolicySet
from governance.policies.selectors import NO_ACTIVE_POLICY, UNKNOWN_RETAILER
from governance.policies.services import ALREADY_ACTIVE, POLICY_REFUSED
from tenants.permissions import ADMIN_ONLY
from tests.conftest import api_client_for, audit_rows

POLICIES = "/api/v1/governance/policies"
CHECK = "/api/v1/governance/check-creative"


def _error(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _export(client, version: int) -> dict:
    response = client.get(f"{POLICIES}/{version}")
    assert response.status_code == 200, response.content
    return response.json()


def _counts() -> tuple[int, int]:
    return PolicySet.objects.count(), PolicyRule.objects.count()


def test_the_seeded_demo_set_is_megamarts_active_version_1(megamart):
    # when megamart's viewer lists its policy versions
    response = api_client_for(megamart, username="megamart-viewer").get(POLICIES)

    # then
    assert response.status_code == 200
    [only] = response.json()["results"]
    assert (only["version"], only["status"], only["rules"]) == (1, "active", len(MEGAMART_POLICY_RULES))


def test_export_then_import_round_trips_exactly_and_makes_a_new_draft(megamart):
    admin = api_client_for(megamart, username="megamart-admin")
    exported = _export(admin, 1)
    assert exported == {"retailer": "megamart", "version": 1, "rules": MEGAMART_POLICY_RULES}

    # when the export is imported back
    response = admin.post(POLICIES, exported, format="json")

    # then it is version 2, a draft, whose export is the same document but for its version
    assert response.status_code == 201, response.content
    assert response.json() == {"retailer": "megamart", "version": 2, "status": "draft",
                               "rules": len(MEGAMART_POLICY_RULES)}
    assert response["Location"] == f"{POLICIES}/2"
    assert _export(admin, 2) == {**exported, "version": 2}
    [row] = audit_rows(megamart, action="policy.import")
    assert (row.actor, row.outcome, row.object_id) == ("user:megamart-admin", "success", "megamart:v2")
    assert row.details == {"retailer": "megamart", "version": 2, "rules": len(MEGAMART_POLICY_RULES),
                           "source_version": 1}


def test_a_malformed_import_is_refused_whole_naming_the_entry(megamart):
    # given an otherwise good document whose entry 7 has an invalid regex
    document = {"retailer": "megamart", "rules": copy.deepcopy(MEGAMART_POLICY_RULES)}
    document["rules"][7]["spec"] = {"match": "regex", "pattern": "cur(e|es"}
    before = _counts()

    # when
    response = api_client_for(megamart, username="megamart-admin").post(POLICIES, document, format="json")

    # then 400, the entry and field are named, and nothing is stored
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid_policy"
    assert body["details"]["entry"] == 7
    assert body["details"]["field"] == "spec.pattern"
    assert body["details"]["rule_id"] == MEGAMART_POLICY_RULES[7]["rule_id"]
    assert body["message"] == POLICY_REFUSED.format(problem=f"rules[7].spec.pattern: {body['details']['message']}")
    assert body["details"]["message"].startswith("Not a valid regular expression: missing ), unterminated subpattern")
    assert _counts() == before
    [row] = audit_rows(megamart, action="policy.import")
    assert (row.outcome, row.details["refused"]) == ("failure", body["details"])


@pytest.mark.parametrize(("change", "details"), [
    (lambda rules: rules[3].update(kind="banned_word"),
     {"entry": 3, "field": "kind", "message": R.NOT_A_CHOICE.format(choices=", ".join(
         ["disallowed_term", "required_disclaimer", "creative_spec", "targeting_restriction", "data_access"]))}),
    (lambda rules: rules[5].update(rule_id=rules[0]["rule_id"]),
     {"entry": 5, "field": "rule_id", "message": R.DUPLICATE_RULE_ID.format(rule_id="health-cure", first=0)}),
    (lambda rules: rules[30].pop("spec"), {"entry": 30, "field": "spec", "message": R.MISSING}),
])
def test_unknown_kinds_duplicate_ids_and_missing_fields_are_refused(megamart, change, details):
    rules = copy.deepcopy(MEGAMART_POLICY_RULES)
    change(rules)
    before = _counts()

    response = api_client_for(megamart, username="megamart-admin").post(POLICIES, {"rules": rules}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {**details, "rule_id": rules[details["entry"]]["rule_id"]}
    assert _counts() == before


def test_activating_a_version_retires_the_active_one(megamart):
    admin = api_client_for(megamart, username="megamart-admin")
    rules = [r for r in MEGAMART_POLICY_RULES if r["rule_id"] != "competitor-walmart"]
    assert admin.post(POLICIES, {"rules": rules, "notes": "Walmart partnership"}, format="json").status_code == 201

    # when version 2 is activated
    response = admin.post(f"{POLICIES}/2/activate")

    # then
    assert response.status_code == 200
    assert response.json() == {"retailer": "megamart", "version": 2, "status": "active", "previous": 1}
    listed = {row["version"]: (row["status"], row["notes"]) for row in admin.get(POLICIES).json()["results"]}
    assert listed == {2: ("active", "Walmart partnership"), 1: ("retired", "MegaMart demo ad policies (seed_demo).")}
    # and checks now cite version 2, where Walmart is no longer refused
    checked = admin.post(CHECK, {"retailer": "megamart", "placement": "product_page", "text": "Cures colds, unlike "
                                 "Walmart"}, format="json").json()
    assert checked["policy"] == {"retailer": "megamart", "version": 2}
    assert [(v["rule_id"], v["version"]) for v in checked["violations"]] == [("health-cure", 2)]
    # activating it again is a conflict; rolling back to version 1 is allowed
    assert admin.post(f"{POLICIES}/2/activate").json() == _error("already_active", ALREADY_ACTIVE.format(version=2))
    assert admin.post(f"{POLICIES}/1/activate").json()["previous"] == 2
    assert [(r.action, r.object_id) for r in audit_rows(megamart, action="policy.activate")] == [
        ("policy.activate", "megamart:v2"), ("policy.activate", "megamart:v1")]


def test_an_unknown_version_is_not_found(megamart):
    admin = api_client_for(megamart, username="megamart-admin")
    assert admin.get(f"{POLICIES}/99").status_code == 404
    assert admin.post(f"{POLICIES}/99/activate").status_code == 404


@pytest.mark.parametrize("username", ["megamart-analyst", "megamart-viewer"])
def test_only_a_retailer_admin_writes_policies(megamart, username):
    client = api_client_for(megamart, username=username)
    before = _counts()

    assert client.post(POLICIES, {"rules": MEGAMART_POLICY_RULES}, format="json").json() == _error(
        "permission_denied", ADMIN_ONLY)
    assert client.post(f"{POLICIES}/1/activate").status_code == 403
    assert client.get(f"{POLICIES}/1").status_code == 200  # reading is fine
    assert _counts() == before


@pytest.mark.parametrize(("method", "path"), [("get", POLICIES), ("post", POLICIES), ("get", f"{POLICIES}/1"),
                                              ("post", f"{POLICIES}/1/activate")])
def test_a_brand_cannot_manage_policies(acme, method, path):
    response = getattr(api_client_for(acme, username="acme-admin"), method)(
        path, {"rules": MEGAMART_POLICY_RULES}, format="json")
    assert response.status_code == 403
    assert response.json() == _error("permission_denied", RETAILERS_ONLY)


def test_a_brand_checks_a_creative_against_megamarts_active_policies(acme):
    # given acme's viewer (any role may check: nothing is written)
    client = api_client_for(acme, username="acme-viewer")

    # when
    response = client.post(CHECK, {
        "retailer": "megamart", "placement": "top_of_search", "category": "supplements", "brand": "Acme",
        "headline": "Best immunity support", "body": "Boosts immunity. Cheaper than Walmart!",
    }, format="json")

    # then every violation cites rule id and version, with severity and a fix
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["policy"] == {"retailer": "megamart", "version": 1}
    assert [(v["rule_id"], v["version"], v["severity"], v["field"]) for v in body["violations"]] == [
        ("health-boosts-immunity", 1, "block", "body"),
        ("competitor-walmart", 1, "block", "body"),
        ("disclaimer-supplement-claims", 1, "block", "disclaimer"),
        ("superlative-best", 1, "warn", "headline"),
    ]
    assert body["violations"][0] == {
        "rule_id": "health-boosts-immunity", "version": 1, "kind": "disallowed_term", "severity": "block",
        "category": "health_claims", "field": "body", "span": [0, 15],
        "message": 'The body says "Boosts immunity": Health claims need FDA approval; describe the product, not a '
                   "medical outcome.",
        "fix": 'Remove "Boosts immunity".',
    }
    assert (body["passed"], body["summary"]) == (False, {"block": 3, "warn": 1, "info": 0})


def test_a_clean_creative_passes(acme):
    response = api_client_for(acme, username="acme-viewer").post(CHECK, {
        "retailer": "megamart", "placement": "top_of_search", "category": "snacks",
        "headline": "Kettle chips, sea salt", "body": "Small-batch crunch for game day.",
        "targeting": {"audiences": ["Sports fans"], "age_min": 18}}, format="json")
    assert response.json() == {"policy": {"retailer": "megamart", "version": 1}, "passed": True,
                               "summary": {"block": 0, "warn": 0, "info": 0}, "violations": []}


@pytest.mark.parametrize(("retailer", "status", "code", "message"), [
    ("nosuchmart", 404, "unknown_retailer", UNKNOWN_RETAILER.format(slug="nosuchmart")),
    ("acme", 404, "unknown_retailer", UNKNOWN_RETAILER.format(slug="acme")),  # a brand publishes no ad policies
])
def test_checking_against_an_unknown_retailer(acme, retailer, status, code, message):
    response = api_client_for(acme, username="acme-viewer").post(
        CHECK, {"retailer": retailer, "placement": "in_grid", "text": "Chips"}, format="json")
    assert (response.status_code, response.json()) == (status, _error(code, message))


def test_checking_against_a_retailer_without_an_active_set(acme, megamart):
    PolicySet.objects.filter(retailer=megamart).update(status="retired")
    response = api_client_for(acme, username="acme-viewer").post(
        CHECK, {"retailer": "megamart", "placement": "in_grid", "text": "Chips"}, format="json")
    assert (response.status_code, response.json()) == (
        404, _error("no_active_policy", NO_ACTIVE_POLICY.format(name="MegaMart")))


@pytest.mark.parametrize(("body", "details"), [
    ({"retailer": "megamart", "placement": "in_grid"}, {"text": [NO_TEXT]}),
    ({"retailer": "megamart", "placement": "in_grid", "text": "a", "body": "b"}, {"text": [TEXT_OR_BODY]}),
    ({"retailer": "megamart", "text": "a"}, {"placement": ["This field is required."]}),
    ({"retailer": "megamart", "placement": "in_grid", "text": "a", "targeting": {"age_min": "old"}},
     {"targeting": {"age_min": ["A valid integer is required."]}}),
])
def test_a_malformed_check_is_a_400(acme, body, details):
    response = api_client_for(acme, username="acme-viewer").post(CHECK, body, format="json")
    assert (response.status_code, response.json()) == (400, _error("invalid", "The request is invalid.", details))
