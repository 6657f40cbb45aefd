"""MegaMart's demo ad policies, modelled on retailer sponsored-products guidelines (Criteo-powered retailers,
Walmart Connect, Amazon Ads): no unsubstantiated health claims, superlatives or price claims, no competitor
retailers, the disclaimers regulated categories need, creative specs per placement, targeting limits and
clean-room terms. `demo_policy_ensure` loads them for a retailer that has no policy set yet."""

from __future__ import annotations

from tenants.models import Tenant


def _term(rule_id: str, category: str, match: str, pattern: str, *, severity: str = "block", **spec) -> dict:
    return {"rule_id": rule_id, "kind": "disallowed_term", "severity": severity, "category": category,
            "spec": {"match": match, "pattern": pattern, **spec}}


def _rule(rule_id: str, kind: str, category: str, severity: str, **spec) -> dict:
    return {"rule_id": rule_id, "kind": kind, "severity": severity, "category": category, "spec": spec}


_SEARCH = ["top_of_search", "rest_of_search", "in_grid"]
_HEALTH = "Health claims need FDA approval; describe the product, not a medical outcome."
_UNSUBSTANTIATED = "superlatives need substantiation (cite the source in the creative)."
_SUBSTANTIATED = r"\b(?:source|according to|based on|per)\b[^.]{0,80}\b(?:study|survey|data|nielsen|iri|circana)\b"

MEGAMART_POLICY_RULES: list[dict] = [
    # Health claims (FTC/FDA): foods, supplements and personal care may not promise medical outcomes.
    _term("health-cure", "health_claims", "regex",
          r"\bcur(?:e|es|ing)\b|\bcured\b(?!\s+(?:ham|meats?|salami|bacon|pork|sausages?|salmon|olives))",
          reason=_HEALTH, fix='Remove "{term}"; say what the product is or does ("soothing", "gentle").'),
    _term("health-prevents-disease", "health_claims", "regex",
          r"\bprevent(?:s|ing)?\s+(?:\w+\s+){0,2}(?:diseases?|illness(?:es)?|cancer|diabetes|infections?|colds?|flu"
          r"|heart\s+disease|alzheimer'?s)\b", reason=_HEALTH),
    _term("health-boosts-immunity", "health_claims", "regex",
          r"\b(?:boost|strengthen|supercharge)(?:s|ing)?\s+(?:your\s+)?immun(?:e\s+system|ity)\b"
          r"|\bimmun(?:e|ity)[\s-]+boost(?:s|ers?|ing)?\b", reason=_HEALTH,
          fix='Remove "{term}".'),
    _term("health-treats-condition", "health_claims", "regex",
          r"\btreat(?:s|ing)?\s+(?:your\s+)?(?:pain|symptoms?|acne|arthritis|diseases?|infections?|anxiety"
          r"|depression|insomnia|eczema|psoriasis)\b", reason=_HEALTH),
    _term("health-miracle", "health_claims", "word", "miracle", reason=_HEALTH),
    _term("health-detox", "health_claims", "regex", r"\bdetox(?:es|ify|ifies|ifying|ification)?\b",
          severity="warn", reason="Detox claims are unsubstantiated health claims.", replacement="refresh"),
    _term("health-fda-approved", "health_claims", "regex", r"\bFDA[\s-]+(?:approved|certified|endorsed)\b",
          reason="Foods, supplements and cosmetics are not FDA approved; the claim misleads."),
    _term("health-weight-loss", "health_claims", "regex",
          r"\b(?:lose|drop|melt|burn)\s+(?:up\s+to\s+)?(?:\d+\s*(?:lbs?|pounds|kg|kilos)|belly\s+fat|fat\s+fast)\b",
          reason="Weight-loss promises are not accepted in sponsored products."),
    _term("health-clinically-proven", "health_claims", "phrase", "clinically proven", severity="warn",
          unless=_SUBSTANTIATED, reason="Clinical claims must name the study."),
    # Superlatives need substantiation.
    _term("superlative-best", "superlatives", "word", "best", severity="warn", unless=_SUBSTANTIATED,
          reason=_UNSUBSTANTIATED, replacement="great"),
    _term("superlative-number-one", "superlatives", "regex",
          r"(?<!\w)#\s?1(?!\d)|\bnumber[\s-]+one\b|\bno\.\s?1(?!\d)", unless=_SUBSTANTIATED,
          reason=_UNSUBSTANTIATED, fix='Remove "{term}" or cite the ranking it comes from.'),
    _term("superlative-favorite", "superlatives", "regex",
          r"\b(?:world|america|nation|everyone)(?:'|’)?s\s+(?:favou?rite|most\s+loved|leading)\b",
          severity="warn", unless=_SUBSTANTIATED, reason=_UNSUBSTANTIATED),
    _term("superlative-absolute", "superlatives", "regex",
          r"\b(?:unbeatable|unbeaten|unmatched|unrivall?ed|ultimate|perfect)\b", severity="info",
          reason="absolute claims read as unsubstantiated superlatives."),
    # Price belongs to MegaMart: advertisers do not make price comparisons or promises.
    _term("price-lowest", "pricing_claims", "regex", r"\b(?:lowest|cheapest|best)\s+prices?\b",
          reason="MegaMart sets shelf prices; price comparisons are not allowed in ads.",
          fix='Remove "{term}"; the offer badge shows the current price.'),
    _term("price-match", "pricing_claims", "regex", r"\bprice[\s-]+(?:match(?:ing)?|guarantee[ds]?)\b",
          reason="Only MegaMart makes price guarantees."),
    _term("price-free", "pricing_claims", "regex",
          r"(?<!-)(?<!gluten )(?<!sugar )(?<!dairy )(?<!fat )(?<!nut )(?<!soy )(?<!caffeine )(?<!fragrance )"
          r"(?<!cruelty )(?<!bpa )(?<!hands )\bfree\b(?![\s-]*(?:from|range)\b)(?!-)",
          severity="warn", reason='"Free" offers need their terms stated.',
          fix='State the offer terms with "{term}", or remove it.'),
    # Competitor retailers and their events.
    _term("competitor-walmart", "competitor_names", "regex", r"\bwal[\s-]?mart\b",
          reason="Competitor retailers may not be named."),
    _term("competitor-amazon", "competitor_names", "word", "Amazon", reason="Competitor retailers may not be named."),
    _term("competitor-target", "competitor_names", "word", "Target", case_sensitive=True,
          reason="Competitor retailers may not be named."),
    _term("competitor-other-retailers", "competitor_names", "regex",
          r"\b(?:kroger|costco|instacart|aldi|publix|walgreens|cvs|sam'?s\s+club|whole\s+foods)\b",
          reason="Competitor retailers may not be named."),
    _term("competitor-events", "competitor_names", "regex", r"\b(?:prime\s+day|circle\s+week|walmart\+)\b",
          reason="Competitor retail events may not be named."),
    # Everything else MegaMart refuses.
    _term("offsite-links", "links", "regex", r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:com|net|org|shop|co)\b",
          reason="Sponsored products link only to the MegaMart product page.", fix='Remove "{term}".'),
    _term("restricted-cannabis", "restricted_products", "regex", r"\b(?:cbd|thc|cannabis|marijuana|hemp\s+extract)\b",
          reason="Cannabis products are not advertised on MegaMart."),
    _term("alcohol-health-benefit", "health_claims", "regex", r"\bhealth(?:y|ier|iest)\b|\bguilt[\s-]free\b",
          applies_to={"categories": ["alcohol"]}, reason="Alcohol ads may not suggest health benefits."),
    _term("urgency-pressure", "misleading", "regex", r"\b(?:act\s+now|last\s+chance|hurry|while\s+supplies\s+last)\b",
          severity="info", reason="pressure wording lowers ad quality scores."),
    # Disclaimers the category or the claim requires.
    _rule("disclaimer-alcohol", "required_disclaimer", "regulated_categories", "block",
          text="Please enjoy responsibly. Must be 21+.", when={"categories": ["alcohol"]}),
    _rule("disclaimer-otc", "required_disclaimer", "regulated_categories", "block",
          text="Use only as directed. Read the label.", when={"categories": ["otc_medicine"]}),
    _rule("disclaimer-supplement-claims", "required_disclaimer", "health_claims", "block",
          text="These statements have not been evaluated by the Food and Drug Administration. This product is not "
               "intended to diagnose, treat, cure, or prevent any disease.",
          when={"categories": ["supplements"], "claims": ["health"]}),
    _rule("disclaimer-infant-formula", "required_disclaimer", "regulated_categories", "block",
          text="Breast milk is best for babies.", when={"categories": ["infant_formula"]}),
    _rule("disclaimer-price-offers", "required_disclaimer", "pricing_claims", "warn",
          text="Prices and availability may vary by store and online.", when={"claims": ["price"]}),
    _rule("disclaimer-sweepstakes", "required_disclaimer", "promotions", "block",
          text="No purchase necessary. Void where prohibited.", when={"claims": ["sweepstakes"]}),
    _rule("disclaimer-environmental", "required_disclaimer", "environmental_claims", "warn",
          text="See package for recycling details.", when={"claims": ["environmental"]}),
    _rule("disclaimer-results", "required_disclaimer", "health_claims", "warn", text="Results may vary.",
          when={"claims": ["results"], "categories": ["supplements", "personal_care", "beauty"]}),
    # Creative specs per placement.
    _rule("spec-search", "creative_spec", "creative_specs", "block", placements=_SEARCH, headline_max=30,
          body_max=90, allowed_chars=r"[A-Za-z0-9 .,!?'&%$():;/+-]", no_all_caps_words_longer_than=4,
          all_caps_allowed=["USDA", "BOGO"], no_repeated_punctuation=True, max_exclamation_marks=1,
          capitalization="sentence"),
    _rule("spec-product-page", "creative_spec", "creative_specs", "block", placements=["product_page", "buy_box"],
          headline_max=45, body_max=150, no_all_caps_words_longer_than=4, no_repeated_punctuation=True),
    _rule("spec-homepage", "creative_spec", "creative_specs", "block", placements=["homepage"], headline_max=25,
          body_max=60, capitalization="title", formats=["970x250", "728x90", "320x50"]),
    _rule("spec-onsite-display", "creative_spec", "creative_specs", "block", placements=["onsite_display", "browse"],
          headline_max=40, body_max=120, formats=["300x250", "728x90", "160x600", "320x50"]),
    _rule("spec-offsite", "creative_spec", "creative_specs", "warn", placements=["offsite"], headline_max=40,
          body_max=125, formats=["1200x628", "1080x1080", "300x250"]),
    _rule("spec-video", "creative_spec", "creative_specs", "block", placements=["video"], headline_max=50,
          formats=["mp4", "mov"]),
    _rule("spec-all-tone", "creative_spec", "creative_specs", "warn", placements=["*"], no_repeated_punctuation=True,
          max_exclamation_marks=2),
    # Targeting restrictions.
    _rule("targeting-alcohol-age", "targeting_restriction", "regulated_categories", "block",
          applies_to={"categories": ["alcohol"]}, min_age=21, blocked_audiences=["teens", "students", "college"],
          reason="Alcohol is advertised to adults of legal drinking age only."),
    _rule("targeting-otc-age", "targeting_restriction", "regulated_categories", "block",
          applies_to={"categories": ["otc_medicine"]}, min_age=18),
    _rule("targeting-health-conditions", "targeting_restriction", "sensitive_data", "block",
          blocked_audiences=["diabetes", "pregnancy", "pregnant", "cancer", "hiv", "depression", "addiction",
                             "weight loss", "fertility"],
          reason="Audiences may not be built on health conditions."),
    _rule("targeting-sensitive-traits", "targeting_restriction", "sensitive_data", "block",
          blocked_audiences=["religion", "ethnicity", "sexual orientation", "political", "immigration status"],
          reason="Audiences may not be built on sensitive traits."),
    _rule("targeting-kids-hfss", "targeting_restriction", "children", "block",
          applies_to={"categories": ["candy", "sugary_drinks", "snacks"]}, min_age=13,
          blocked_audiences=["kids", "children", "tweens"],
          reason="Foods high in fat, sugar or salt are not advertised to children."),
    # Clean-room terms for advertisers' queries on MegaMart's data.
    # The clean room's views (governance/cleanroom): every lease is checked against these when it is granted.
    _rule("data-access-default", "data_access", "clean_room", "block", views=["*"], k_min=50, dp_required=False,
          epsilon_max=1.0, epsilon_daily_budget=5.0, min_window_days=7),
    _rule("data-access-purchases", "data_access", "clean_room", "block", views=["purchases"], k_min=50,
          dp_required=False, epsilon_max=0.5, allowed_dimensions=["gtin14", "region", "day", "week", "month"]),
    _rule("data-access-segments", "data_access", "clean_room", "block", views=["segments"], k_min=50,
          dp_required=False, epsilon_max=0.5, allowed_dimensions=["segment"]),
    _rule("data-access-exposures", "data_access", "clean_room", "block", views=["exposures"], k_min=50,
          dp_required=False, allowed_dimensions=["campaign_id", "placement", "region", "day", "week", "month"]),
]


def megamart_policy_document() -> dict:
    return {"retailer": "megamart", "version": 1, "rules": MEGAMART_POLICY_RULES}


def demo_policy_ensure(*, retailer: Tenant, actor: str = "seed_demo") -> bool:
    """Import and activate MegaMart's demo set unless the retailer has any policy set (idempotent); True if loaded."""
    from governance.policies.models import PolicySet
    from governance.policies.services import policy_activate, policy_import

    if PolicySet.objects.filter(retailer=retailer).exists():
        return False
    document = {**megamart_policy_document(), "retailer": retailer.slug,
                "notes": "MegaMart demo ad policies (seed_demo)."}
    policy_set = policy_import(retailer=retailer, document=document, actor=actor)
    policy_activate(retailer=retailer, version=policy_set.version, actor=actor)
    return True
