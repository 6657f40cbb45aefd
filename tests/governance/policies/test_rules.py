"""Validating policy documents: every problem names its entry and field; good documents pass untouched."""

from __future__ import annotations

import copy
import re

import pytest

from governance.policies import rules as R
from governance.policies.demo import MEGAMART_POLICY_RULES, megamart_policy_document
from governance.policies.rules import PolicyError, policy_document_validate, rule_validate
from tests.governance.policies.conftest import rule


def _refusal(document) -> dict:
    with pytest.raises(PolicyError) as caught:
        policy_document_validate(document, retailer_slug="megamart")
    return caught.value.details


def _with(entry: int, change) -> dict:
    document = copy.deepcopy(megamart_policy_document())
    change(document["rules"][entry])
    return document


def test_the_demo_document_validates_and_is_returned_unchanged():
    document = megamart_policy_document()
    assert policy_document_validate(copy.deepcopy(document), retailer_slug="megamart") == document["rules"]


def test_an_invalid_regex_is_refused_naming_entry_and_field():
    document = _with(7, lambda r: r["spec"].update(match="regex", pattern="(unclosed"))
    error = str(re.error("missing ), unterminated subpattern", "(unclosed", 0))
    assert _refusal(document) == {"entry": 7, "rule_id": MEGAMART_POLICY_RULES[7]["rule_id"],
                                  "field": "spec.pattern", "message": R.INVALID_REGEX.format(error=error)}


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda r: r.update(kind="banned_word"), "kind", R.NOT_A_CHOICE.format(choices=", ".join(
        ["disallowed_term", "required_disclaimer", "creative_spec", "targeting_restriction", "data_access"]))),
    (lambda r: r.pop("severity"), "severity", R.MISSING),
    (lambda r: r.update(severity="fatal"), "severity", R.NOT_A_CHOICE.format(choices="block, warn, info")),
    (lambda r: r.update(rule_id="Health Cure!"), "rule_id", R.BAD_RULE_ID),
    (lambda r: r.update(colour="red"), "colour", R.UNKNOWN_FIELD),
    (lambda r: r["spec"].pop("pattern"), "spec.pattern", R.MISSING),
    (lambda r: r["spec"].update(match="regex", pattern="a*"), "spec.pattern", R.EMPTY_MATCH),
    (lambda r: r["spec"].update(match="word", pattern="two words"), "spec.pattern", R.WORD_HAS_SPACE),
    (lambda r: r["spec"].update(applies_to={"category": ["x"]}), "spec.applies_to.category", R.UNKNOWN_FIELD),
    (lambda r: r["spec"].update(applies_to={"categories": "alcohol"}), "spec.applies_to.categories", R.NOT_A_LIST),
    (lambda r: r["spec"].update(case_sensitive="yes"), "spec.case_sensitive", R.NOT_A_BOOL),
    (lambda r: r.update(spec=[]), "spec", R.NOT_A_FIELD_OBJECT),
])
def test_a_bad_rule_is_refused_naming_its_field(change, field, message):
    document = _with(0, change)
    assert _refusal(document) == {"entry": 0, "rule_id": document["rules"][0]["rule_id"], "field": field,
                                  "message": message}


@pytest.mark.parametrize(("kind", "spec", "field", "message"), [
    ("required_disclaimer", {"text": "Use as directed.", "when": {"claims": ["magic"]}}, "spec.when.claims",
     R.UNKNOWN_CLAIM.format(claim="magic", known=", ".join(R.CLAIM_PATTERNS))),
    ("required_disclaimer", {"when": {"categories": ["otc"]}}, "spec.text", R.MISSING),
    ("creative_spec", {"placements": ["in_grid"]}, "spec", R.NOTHING_TO_CHECK.format(fields=", ".join(
        k for k in R.SPEC_FIELDS["creative_spec"] if k != "placements"))),
    ("creative_spec", {"placements": ["in_grid"], "headline_mx": 30}, "spec.headline_mx", R.UNKNOWN_FIELD),
    ("creative_spec", {"placements": ["in_grid"], "headline_max": 0}, "spec.headline_max",
     R.NOT_A_POSITIVE_INT.format(minimum=1)),
    ("creative_spec", {"placements": ["in_grid"], "allowed_chars": "abc"}, "spec.allowed_chars", R.NOT_A_CHAR_CLASS),
    ("targeting_restriction", {"reason": "none"}, "spec",
     R.NOTHING_TO_CHECK.format(fields="min_age, blocked_audiences, blocked_geos")),
    ("data_access", {"views": ["*"], "k_min": 1, "dp_required": False}, "spec.k_min",
     R.NOT_A_POSITIVE_INT.format(minimum=2)),
    ("data_access", {"views": ["*"], "k_min": 50, "dp_required": True}, "spec.epsilon_max", R.EPSILON_NEEDED),
])
def test_each_kind_checks_its_spec(kind, spec, field, message):
    with pytest.raises(PolicyError) as caught:
        rule_validate(rule("r1", kind, spec))
    assert (caught.value.field, caught.value.message) == (field, message)


def test_a_duplicate_rule_id_names_the_second_entry():
    document = _with(3, lambda r: r.update(rule_id=MEGAMART_POLICY_RULES[1]["rule_id"]))
    rule_id = MEGAMART_POLICY_RULES[1]["rule_id"]
    assert _refusal(document) == {"entry": 3, "rule_id": rule_id, "field": "rule_id",
                                  "message": R.DUPLICATE_RULE_ID.format(rule_id=rule_id, first=1)}


@pytest.mark.parametrize(("document", "field", "message"), [
    ([], "", R.NOT_AN_OBJECT),
    ({"retailer": "megamart", "rules": []}, "rules", R.NO_RULES.format(limit=R.MAX_RULES)),
    ({"retailer": "othermart", "rules": [rule("a", "data_access", {"views": ["*"], "k_min": 5,
                                                                   "dp_required": False})]},
     "retailer", R.WRONG_RETAILER.format(document="othermart", retailer="megamart")),
    ({"rules": [], "status": "active"}, "status", R.UNKNOWN_FIELD),
])
def test_document_level_problems_name_the_field(document, field, message):
    assert _refusal(document) == {"field": field, "message": message}
