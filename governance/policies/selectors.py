"""Reading retailer policies: the one place that decides which policy set a caller may see or check against."""

from __future__ import annotations

from functools import lru_cache

from django.db.models import Count, QuerySet
from rest_framework.exceptions import NotFound

from governance.policies.checker import CompiledPolicy, Targeting, Violation, check_creative, policy_compile
from governance.policies.models import PolicyRule, PolicySet, PolicyStatus, RuleKind
from rmn_saas.errors import NOT_FOUND_MESSAGE, ApiError
from tenants.models import Tenant, TenantKind

UNKNOWN_RETAILER = "No retailer {slug!r} publishes ad policies here."
NO_ACTIVE_POLICY = "{name} has no active policy set."
RULE_FIELDS = ("rule_id", "kind", "severity", "category", "spec")

# Where a retailer has no active set, or no data-access rule, the clean room runs under these (fail closed).
DATA_ACCESS_DEFAULTS = {"k_min": 50, "dp_required": True, "epsilon_max": 1.0, "epsilon_daily_budget": None,
                        "min_window_days": None, "allowed_dimensions": None}


def retailer_by_slug(*, slug: str) -> Tenant:
    """A retailer tenant; a brand's or platform's slug is as unknown as a missing one."""
    retailer = Tenant.objects.filter(slug=slug, kind=TenantKind.RETAILER).first()
    if retailer is None:
        raise ApiError(status_code=404, code="unknown_retailer", message=UNKNOWN_RETAILER.format(slug=slug))
    return retailer


def policy_set_active(*, retailer: Tenant) -> PolicySet | None:
    return PolicySet.objects.filter(retailer=retailer, status=PolicyStatus.ACTIVE).first()


def policy_set_list(*, retailer: Tenant) -> QuerySet[PolicySet]:
    return PolicySet.objects.filter(retailer=retailer).annotate(rule_count=Count("rules")).order_by("-version")


def policy_set_of_retailer(*, retailer: Tenant, version: int) -> PolicySet:
    """The retailer's set with this version; the same not-found error whether it is missing or not theirs."""
    policy_set = PolicySet.objects.filter(retailer=retailer, version=version).first()
    if policy_set is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return policy_set


def policy_rules(*, policy_set: PolicySet) -> list[dict]:
    return list(PolicyRule.objects.filter(policy_set=policy_set).order_by("id").values(*RULE_FIELDS))


def policy_export(*, policy_set: PolicySet) -> dict:
    """The set as the JSON document `policy_import` takes."""
    return {"retailer": policy_set.retailer.slug, "version": policy_set.version,
            "rules": policy_rules(policy_set=policy_set)}


@lru_cache(maxsize=256)
def _compiled(policy_set_id: int, version: int) -> CompiledPolicy:
    return policy_compile(PolicyRule.objects.filter(policy_set_id=policy_set_id).order_by("id").values(*RULE_FIELDS),
                          version=version)


def policy_compiled(*, policy_set: PolicySet) -> CompiledPolicy:
    """Compiled once per set and version: only drafts change, and drafts are compiled afresh every time."""
    if policy_set.is_draft:
        return policy_compile(policy_rules(policy_set=policy_set), version=policy_set.version)
    return _compiled(policy_set.pk, policy_set.version)


def creative_check(*, retailer_slug: str, placement: str, category: str = "", brand: str = "", headline: str = "",
                   body: str = "", text: str | None = None, disclaimer: str = "", format: str = "",
                   targeting: Targeting | None = None) -> tuple[PolicySet, list[Violation]]:
    """Check a creative against the retailer's active set: retailers publish their ad rules to every advertiser."""
    retailer = retailer_by_slug(slug=retailer_slug)
    policy_set = policy_set_active(retailer=retailer)
    if policy_set is None:
        raise ApiError(status_code=404, code="no_active_policy", message=NO_ACTIVE_POLICY.format(name=retailer.name))
    violations = check_creative(policy_compiled(policy_set=policy_set), placement=placement, category=category,
                                brand=brand, headline=headline, body=body, text=text, disclaimer=disclaimer,
                                format=format, targeting=targeting)
    return policy_set, violations


def _strictest(terms: dict, spec: dict) -> dict:
    """Two sets of data-access terms → the stricter of each (a view's own rule never loosens the floor)."""
    def lower(a, b):
        return b if a is None else a if b is None else min(a, b)

    def higher(a, b):
        return b if a is None else a if b is None else max(a, b)

    dims = spec.get("allowed_dimensions")
    if terms["allowed_dimensions"] is not None and dims is not None:
        dims = [d for d in terms["allowed_dimensions"] if d in dims]
    return {
        "k_min": higher(terms["k_min"], spec.get("k_min")),
        "dp_required": terms["dp_required"] or spec.get("dp_required", False),
        "epsilon_max": lower(terms["epsilon_max"], spec.get("epsilon_max")),
        "epsilon_daily_budget": lower(terms["epsilon_daily_budget"], spec.get("epsilon_daily_budget")),
        "min_window_days": higher(terms["min_window_days"], spec.get("min_window_days")),
        "allowed_dimensions": dims if dims is not None else terms["allowed_dimensions"],
    }


def data_access_rules(retailer: Tenant | str) -> dict:
    """The clean-room terms of the retailer's active set.

    `{"retailer", "version", "default": terms, "views": {view: terms}}` where terms are k_min, dp_required,
    epsilon_max, epsilon_daily_budget, min_window_days, allowed_dimensions (None: no limit) and `rules`, the
    `[rule_id, version]` pairs they come from. `default` (rules for view "*") applies to every view, and each
    named view is at least as strict. No active set or no rule: DATA_ACCESS_DEFAULTS, version None.
    """
    tenant = retailer_by_slug(slug=retailer) if isinstance(retailer, str) else retailer
    policy_set = policy_set_active(retailer=tenant)
    rules = [] if policy_set is None else list(
        policy_set.rules.filter(kind=RuleKind.DATA_ACCESS).order_by("id").values("rule_id", "spec"))
    version = policy_set.version if policy_set else None
    default = {**DATA_ACCESS_DEFAULTS, "rules": []}
    wildcard = [rule for rule in rules if "*" in rule["spec"]["views"]]
    if wildcard:
        default = {**DATA_ACCESS_DEFAULTS, "k_min": None, "dp_required": False, "epsilon_max": None}
        for rule in wildcard:
            default = _strictest(default, rule["spec"])
        default["rules"] = [[rule["rule_id"], version] for rule in wildcard]
        if default["dp_required"] and default["epsilon_max"] is None:
            default["epsilon_max"] = DATA_ACCESS_DEFAULTS["epsilon_max"]
    views: dict[str, dict] = {}
    for rule in rules:
        for view in rule["spec"]["views"]:
            if view == "*":
                continue
            terms = views.get(view, default)
            views[view] = {**_strictest(terms, rule["spec"]), "rules": [*terms["rules"], [rule["rule_id"], version]]}
    return {"retailer": tenant.slug, "version": version, "default": default, "views": views}
