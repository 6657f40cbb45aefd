"""The policy checker on MegaMart's demo rules and on single rules: true hits, tricky non-hits, disclaimers under
their conditions only, creative specs, targeting, and citations of rule id and version."""

from __future__ import annotations

import pytest

from governance.policies.checker import Targeting, check_creative
from tests.governance.policies.conftest import compiled, rule

SUPPLEMENT_DISCLAIMER = ("These statements have not been evaluated by the Food and Drug Administration. This product "
                         "is not intended to diagnose, treat, cure, or prevent any disease.")


def _hits(policy, **creative) -> list[tuple[str, str | None, str | None]]:
    """(rule id, field, the text the span points at) of each violation."""
    texts = {"headline": creative.get("headline", ""), "body": creative.get("body", creative.get("text", "")),
             "disclaimer": creative.get("disclaimer", "")}
    creative.setdefault("placement", "product_page")
    return [(v.rule_id, v.field, texts[v.field][v.span[0]:v.span[1]] if v.span and v.field else None)
            for v in check_creative(policy, **creative)]


@pytest.mark.parametrize(("body", "rule_id", "said"), [
    ("Cures headaches fast", "health-cure", "Cures"),
    ("Helps prevent heart disease", "health-prevents-disease", "prevent heart disease"),
    ("Boosts your immune system", "health-boosts-immunity", "Boosts your immune system"),
    ("An immunity-booster in every bottle", "health-boosts-immunity", "immunity-booster"),
    ("Treats acne overnight", "health-treats-condition", "Treats acne"),
    ("It's a miracle cream", "health-miracle", "miracle"),
    ("FDA-approved formula", "health-fda-approved", "FDA-approved"),
    ("Lose 10 lbs with our shakes", "health-weight-loss", "Lose 10 lbs"),
    ("The best snack", "superlative-best", "best"),
    ("Our best-selling chips", "superlative-best", "best"),
    ("The #1 chip brand", "superlative-number-one", "#1"),
    ("Number one in flavor", "superlative-number-one", "Number one"),
    ("America's favorite soup", "superlative-favorite", "America's favorite"),
    ("Shop at Walmart prices", "competitor-walmart", "Walmart"),
    ("As seen on Amazon", "competitor-amazon", "Amazon"),
    ("Cheaper than Target", "competitor-target", "Target"),
    ("Better than Whole Foods", "competitor-other-retailers", "Whole Foods"),
    ("Stock up before Prime Day", "competitor-events", "Prime Day"),
    ("Lowest price in town", "price-lowest", "Lowest price"),
    ("We price-match everything", "price-match", "price-match"),
    ("FREE gift with purchase", "price-free", "FREE"),
    ("Visit www.acme-foods.com today", "offsite-links", "www.acme-foods.com"),
    ("Now with CBD", "restricted-cannabis", "CBD"),
])
def test_true_hits_name_the_rule_and_the_words(demo_policy, body, rule_id, said):
    hits = _hits(demo_policy, body=body, category="snacks")
    assert (rule_id, "body", said) in hits


@pytest.mark.parametrize("body", [
    "A secure, resealable lid",                         # "cure" inside "secure"
    "Dry-cured salami and cured ham",                   # curing is how the food is made
    "Dog treats your pup will love",                    # treats, but no condition treated
    "Bestseller shelf, bestow a gift",                  # "best" inside longer words
    "Pack of #10 cans, no. 12 size",                    # not "#1" or "no. 1"
    "Targets dry skin, on target every time",           # the retailer's name is capitalized
    "Amazonian acai berries",                           # not the retailer
    "Gluten-free, sugar free and dairy free",           # free of an ingredient is not an offer
    "Cruelty free, fragrance-free, free-range eggs",
    "Prevents spills with a tight lid",                 # prevents, but no disease
    "Pasture-raised, walnut and mart-style",            # no competitor hiding in other words
    "Acme Co. snacks, made in St. Louis",               # dots that are not links
])
def test_tricky_non_hits(demo_policy, body):
    assert _hits(demo_policy, body=body, category="snacks") == []


def test_a_case_sensitive_term_matches_only_its_case():
    policy = compiled(rule("no-target", "disallowed_term", {"match": "word", "pattern": "Target",
                                                             "case_sensitive": True}))
    assert _hits(policy, body="Shop Target") == [("no-target", "body", "Target")]
    assert _hits(policy, body="shop target, TARGET") == []


def test_a_substantiated_superlative_passes(demo_policy):
    assert _hits(demo_policy, body="The best chips, according to a Nielsen survey", category="snacks") == []
    assert _hits(demo_policy, body="The best chips", category="snacks") == [("superlative-best", "body", "best")]


def test_a_term_applies_only_in_its_categories(demo_policy):
    assert _hits(demo_policy, body="A healthy lager", category="alcohol/beer", disclaimer="Please enjoy "
                 "responsibly. Must be 21+.") == [("alcohol-health-benefit", "body", "healthy")]
    assert _hits(demo_policy, body="A healthy snack", category="snacks") == []


def test_violations_cite_rule_id_version_severity_and_a_fix():
    # given version 7 of a set with a replacement for "best"
    policy = compiled(rule("superlative-best", "disallowed_term",
                           {"match": "word", "pattern": "best", "replacement": "great", "reason": "Prove it."},
                           severity="warn", category="superlatives"), version=7)

    # when
    [violation] = check_creative(policy, headline="Our best pizza", placement="top_of_search")

    # then
    assert violation.as_dict() == {
        "rule_id": "superlative-best", "version": 7, "kind": "disallowed_term", "severity": "warn",
        "category": "superlatives", "message": 'The headline says "best": Prove it.',
        "fix": 'Replace "best" with "great".', "field": "headline", "span": [4, 8],
    }


def test_the_same_input_gives_the_same_violations_most_severe_first(demo_policy):
    creative = {"headline": "BEST deal!!", "body": "Cures colds. Cheaper than Walmart.", "placement": "in_grid",
                "category": "supplements"}
    first = check_creative(demo_policy, **creative)
    assert first == check_creative(demo_policy, **creative)
    ranks = [{"block": 0, "warn": 1, "info": 2}[v.severity] for v in first]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize(("category", "text", "expected"), [
    ("alcohol/wine", "A crisp white for summer", ["disclaimer-alcohol"]),
    ("alcohol", "A crisp lager. Please enjoy responsibly. Must be 21+", []),  # present, punctuation aside
    ("snacks", "A crisp chip for summer", []),
    ("otc_medicine", "Fast relief, all night", ["disclaimer-otc"]),
    ("supplements", "Vitamin D3, 2000 IU softgels", []),  # no claim, no disclaimer
    ("supplements", "Supports healthy digestion", ["disclaimer-supplement-claims"]),
    ("supplements", f"Supports healthy digestion. {SUPPLEMENT_DISCLAIMER}", []),
    ("infant_formula", "Gentle formula for growing babies", ["disclaimer-infant-formula"]),
    ("pantry", "Save 20% off this week", ["disclaimer-price-offers"]),
    ("pantry", "Save 20% off. Prices and availability may vary by store and online.", []),
    ("pantry", "Enter to win a year of pasta", ["disclaimer-sweepstakes"]),
    ("personal_care", "Visible results in 14 days", ["disclaimer-results"]),
    ("snacks", "Visible results in 14 days", []),  # results disclaimer is for beauty and supplements only
])
def test_disclaimers_are_required_only_under_their_conditions(demo_policy, category, text, expected):
    violations = check_creative(demo_policy, text=text, category=category, placement="product_page")
    assert [v.rule_id for v in violations if v.kind == "required_disclaimer"] == expected


def test_a_disclaimers_own_words_are_not_claims(demo_policy):
    # The FDA disclaimer says "treat, cure, or prevent any disease"; the infant one says "best".
    assert check_creative(demo_policy, body="Vitamin C gummies", disclaimer=SUPPLEMENT_DISCLAIMER,
                          category="supplements", placement="product_page") == []
    assert check_creative(demo_policy, body="Gentle formula", disclaimer="Breast milk is best for babies.",
                          category="infant_formula", placement="product_page") == []


def test_a_missing_disclaimer_says_what_to_add(demo_policy):
    [violation] = check_creative(demo_policy, text="A crisp white", category="alcohol", placement="product_page")
    assert (violation.severity, violation.field, violation.fix) == (
        "block", "disclaimer", 'Add the disclaimer "Please enjoy responsibly. Must be 21+.".')


def test_search_headlines_are_limited_to_30_characters(demo_policy):
    # given a 42-character headline on a search placement
    headline = "Crunchy kettle chips with sea salt, 8 oz."

    # when
    violations = check_creative(demo_policy, headline=headline, placement="top_of_search", category="snacks")

    # then one violation, with a trimmed suggestion that fits
    [violation] = violations
    assert (violation.rule_id, violation.field, violation.span) == ("spec-search", "headline", (30, len(headline)))
    assert violation.message == f"The headline has {len(headline)} characters; top_of_search allows at most 30."
    assert violation.fix == 'Shorten the headline to 30 characters or fewer, e.g. "Crunchy kettle chips with sea".'
    # the same headline fits a product page
    assert check_creative(demo_policy, headline=headline, placement="product_page", category="snacks") == []


def test_characters_capitals_and_punctuation(demo_policy):
    found = _hits(demo_policy, headline="AMAZING USDA chips 😀!!", placement="in_grid", category="snacks")
    assert found == [
        ("spec-search", "headline", "AMAZING"),
        ("spec-search", "headline", "😀"),
        ("spec-search", "headline", "!!"),
        ("spec-search", None, None),  # two exclamation marks where one is allowed
        ("spec-all-tone", "headline", "!!"),  # a warning: after every block
    ]


def test_capitalization_and_formats(demo_policy):
    sentence = check_creative(demo_policy, headline="crisp chips", placement="top_of_search", category="snacks")
    assert [(v.rule_id, v.fix) for v in sentence] == [("spec-search", 'Write "Crisp chips".')]
    title = check_creative(demo_policy, headline="the snacks for the road", placement="homepage", format="300x250")
    assert [(v.rule_id, v.fix) for v in title] == [
        ("spec-homepage", 'Write "The Snacks for the Road".'),
        ("spec-homepage", "Use one of: 970x250, 728x90, 320x50."),
    ]


def test_targeting_restrictions(demo_policy):
    targeting = Targeting(audiences=("College students", "Sports fans", "Diabetes management"), age_min=18)
    violations = check_creative(demo_policy, headline="Crisp lager", disclaimer="Please enjoy responsibly. Must "
                                "be 21+.", category="alcohol", placement="product_page", targeting=targeting)
    assert [(v.rule_id, v.fix) for v in violations] == [
        ("targeting-alcohol-age", "Set the minimum age to 21."),
        ("targeting-alcohol-age", 'Remove the audience "College students".'),
        ("targeting-health-conditions", 'Remove the audience "Diabetes management".'),
    ]
    adults = Targeting(audiences=("Sports fans",), age_min=21)
    assert check_creative(demo_policy, headline="Crisp lager", disclaimer="Please enjoy responsibly. Must be 21+.",
                          category="alcohol", placement="product_page", targeting=adults) == []
