"""The brand adapter's compliant-copy data: copy the real policy checker passes, failing drafts it flags with the
fixes their rules imply, DPO pairs, and a held-out set (products, frames, templates never trained on) it scores."""

from __future__ import annotations

import json

import pytest

from governance.policies.checker import check_creative
from governance.policies.models import PolicySet, PolicyStatus
from governance.policies.training_data import (
    BODY_MAX,
    COPY_SCHEMA,
    HEADLINE_MAX,
    HELD_OUT_COPY,
    HELD_OUT_FRAMES,
    HELD_OUT_PRODUCTS,
    NO_ACTIVE_POLICY,
    TRAIN_COPY,
    TRAIN_FRAMES,
    Context,
    copy_fixed,
    copy_json,
    copy_preference_pairs,
    copy_set,
    copy_training_data,
)
from inference.training.datasets import DatasetInvalid, build_dataset


def violations(policy, context: Context, copy: dict) -> list:
    return check_creative(policy, placement=context.placement, category=context.category, brand=context.brand,
                          headline=copy["headline"], body=copy["body"])


@pytest.fixture(scope="module")
def cases(demo_policy):
    return copy_set(policy=demo_policy, held_out=False, n=240, seed=0)


def test_every_completion_passes_the_real_checker(demo_policy, cases):
    for case in cases:
        # the copy and the repaired draft have no violation at all, and fit the schema
        for copy in (case.copy, case.fixed):
            assert violations(demo_policy, case.context, copy) == [], (case.text, copy)
            assert 0 < len(copy["headline"]) <= HEADLINE_MAX and 0 < len(copy["body"]) <= BODY_MAX
        # the completion is the one the case trains on
        assert case.completion == (case.fixed if case.compliance_case else case.copy)


def test_every_rejected_draft_fails_the_real_checker(demo_policy, cases):
    for case in cases:
        found = violations(demo_policy, case.context, case.rejected)
        assert any(v.severity in ("block", "warn") for v in found), (case.mutation, case.rejected)
    # many kinds of failure, across every placement
    assert len({case.mutation for case in cases}) >= 10
    assert len({case.context.placement for case in cases}) == 5


def test_a_compliance_case_shows_the_draft_and_asks_for_the_fix(cases):
    compliance = [case for case in cases if case.compliance_case]
    assert len(compliance) == len(cases) // 3
    case = compliance[0]
    assert case.prompt_text == (f"{case.text}\nDraft: {copy_json(case.rejected)}\n"
                                "Fix the draft so it passes MegaMart's ad policy.")


@pytest.mark.parametrize(("context", "draft", "fixed"), [
    # a superlative and a competitor are removed, with the sentence that says it
    (Context("product_page", "cereal", "acme foods"),
     {"headline": "#1 Honey Nut Toasted Oats", "body": "Made with whole grain oats. Cheaper than Walmart."},
     {"headline": "Honey Nut Toasted Oats", "body": "Made with whole grain oats."}),
    # a term with a replacement is replaced
    (Context("product_page", "snacks", "acme foods"),
     {"headline": "Pretzel Twists", "body": "Best value in the aisle. Baked, not fried."},
     {"headline": "Pretzel Twists", "body": "Great value in the aisle. Baked, not fried."}),
    # wine on the homepage: title case and the alcohol disclaimer
    (Context("homepage", "alcohol/wine", "hillcrest cellars"),
     {"headline": "napa cabernet", "body": "Notes of dark cherry."},
     {"headline": "Napa Cabernet", "body": "Notes of dark cherry. Please enjoy responsibly. Must be 21+."}),
    # a supplement's health claim needs a disclaimer longer than the body may be: the claim goes instead
    (Context("product_page", "supplements", "vital roots"),
     {"headline": "Vitamin D3 Gummies", "body": "Supports immune health. Natural berry flavor."},
     {"headline": "Vitamin D3 Gummies", "body": "Natural berry flavor."}),
    # search ads take plain characters only
    (Context("top_of_search", "cereal", "acme foods"),
     {"headline": "Crème Brûlée Oat Clusters", "body": "Caramelized oat clusters."},
     {"headline": "Creme Brulee Oat Clusters", "body": "Caramelized oat clusters."}),
    # a price offer keeps its claim and gains the disclaimer
    (Context("product_page", "pantry", "acme foods"),
     {"headline": "Olive Oil", "body": "Cold-pressed. Save 20% this week."},
     {"headline": "Olive Oil",
      "body": "Cold-pressed. Save 20% this week. Prices and availability may vary by store and online."}),
    # shouting: one exclamation mark left, capitals lowered
    (Context("top_of_search", "snacks", "acme foods"),
     {"headline": "KETTLE Chips!!", "body": "Kettle-cooked! So crunchy! Wow!"},
     {"headline": "Kettle Chips!", "body": "Kettle-cooked. So crunchy. Wow."}),
    # too long for the placement: the headline loses its trailing segment, not half a word
    (Context("onsite_display", "snacks", "acme foods"),
     {"headline": "Trail Mix - almonds, cashews and chocolate", "body": "A resealable bag."},
     {"headline": "Trail Mix", "body": "A resealable bag."}),
])
def test_a_failing_draft_is_fixed_as_its_rules_say(demo_policy, context, draft, fixed):
    # given a draft the checker fails
    assert violations(demo_policy, context, draft)

    # when its violations' fixes are applied one at a time
    repaired = copy_fixed(demo_policy, context, draft)

    # then the copy is what the fixes say, and it passes
    assert repaired == fixed
    assert violations(demo_policy, context, repaired) == []


def test_train_and_held_out_share_no_product_frame_or_template(demo_policy, cases):
    held_out = copy_set(policy=demo_policy, held_out=True, n=60, seed=1)

    assert {case.product for case in held_out} <= HELD_OUT_PRODUCTS
    assert not {case.product for case in cases} & HELD_OUT_PRODUCTS
    assert {case.frame for case in cases} == set(TRAIN_FRAMES) and {c.frame for c in held_out} == set(HELD_OUT_FRAMES)
    assert {case.template for case in cases} <= set(TRAIN_COPY)
    assert {case.template for case in held_out} <= set(HELD_OUT_COPY)
    # every held-out case has copy that passes: what it asks for can be written
    for case in held_out:
        assert violations(demo_policy, case.context, case.copy) == []


def test_exact_match_for_copy_means_the_checker_passes_it_in_the_cases_context():
    data = build_dataset(kind="brand", name="compliant-copy", n_train=60, n_held_out=20, seed=0)

    for case in data.held_out:
        expected = data.canonical(case.expected)
        # the reference copy matches; the same copy naming a competitor does not
        assert data.canonical(case.expected["reference"]) == expected
        bad = {**case.expected["reference"], "body": case.expected["reference"]["body"] + " Cheaper than Walmart."}
        assert data.canonical(bad) != expected
    # the context decides: wine copy without its disclaimer fails for wine, and passes where no category is given
    wine = {"headline": "Dry Rosé", "body": "Serve chilled."}
    assert data.canonical(wine) != data.canonical({"placement": "product_page", "category": "alcohol/wine"})
    assert data.canonical(wine) == data.canonical({})
    # what is not copy is not a valid answer
    assert data.canonical({"headline": "", "body": "x"}) is None and data.canonical("copy") is None


def test_the_dataset_is_built_by_name_at_the_sizes_asked_with_dpo_pairs(demo_policy):
    # when the brand adapter's dataset is built (build_dataset runs dataset_check)
    data = build_dataset(kind="brand", name="compliant-copy", n_train=60, n_held_out=20, seed=0)

    # then it has the sizes asked, and one DPO pair per training case, made from the same cases
    assert (len(data.train), len(data.held_out), len(data.preference_pairs)) == (60, 20, 60)
    assert data.preference_pairs == copy_preference_pairs(copy_set(policy=demo_policy, held_out=False, n=60, seed=0))
    pair = data.preference_pairs[0]
    assert set(pair) == {"prompt", "chosen", "rejected"} and pair["chosen"] != pair["rejected"]
    assert [m["role"] for m in pair["prompt"]] == ["system", "user"]
    assert set(json.loads(data.train[0]["completion"][0]["content"])) == {"headline", "body"}
    assert data.schema == COPY_SCHEMA
    assert not data.train_templates & data.held_out_templates


def test_a_retailers_active_policy_set_is_used_by_slug(megamart):
    # given megamart, whose active set is the demo set
    # when the data is built for it from the database
    data = copy_training_data(n_train=50, n_held_out=20, seed=0, retailer="megamart")

    # then it is the data built from the demo rules in memory
    assert data.train == copy_training_data(n_train=50, n_held_out=20, seed=0).train

    # and a retailer with no active set is refused with the reason
    PolicySet.objects.filter(retailer=megamart).update(status=PolicyStatus.RETIRED)
    with pytest.raises(DatasetInvalid, match=NO_ACTIVE_POLICY.format(name="MegaMart")) as refused:
        copy_training_data(n_train=50, n_held_out=20, seed=0, retailer="megamart")
    assert refused.value.code == "no_active_policy"
