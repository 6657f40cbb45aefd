"""Writing retailer policies: import a set as a new draft version (or start an empty one, or copy one), activate one.

Sets other than drafts never change, so a violation's (rule id, version) always names a rule as it was. Every
import (refused ones too) and every activation is audited.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from governance.audit.models import Outcome
from governance.audit.services import audit_record
from governance.policies.models import PolicyRule, PolicySet, PolicyStatus
from governance.policies.rules import PolicyError, policy_document_validate
from governance.policies.selectors import policy_rules, policy_set_of_retailer
from rmn_saas.errors import ApiError
from tenants.models import Tenant

POLICY_REFUSED = "The policy set was refused and nothing was stored: {problem}"
ALREADY_ACTIVE = "Version {version} is already the active policy set."


def _audit(*, actor: str, action: str, policy_set: PolicySet, outcome: str = Outcome.SUCCESS, **details) -> None:
    audit_record(actor=actor, action=action, outcome=outcome, object_type="policy_set",
                 object_id=f"{policy_set.retailer.slug}:v{policy_set.version}",
                 details={"retailer": policy_set.retailer.slug, "version": policy_set.version, **details})


def _new_draft(*, retailer: Tenant, rules: list[dict], actor: str, notes: str) -> PolicySet:
    # Locking the retailer's row serializes version numbers between two imports at once.
    Tenant.objects.select_for_update().filter(pk=retailer.pk).first()
    latest = PolicySet.objects.filter(retailer=retailer).aggregate(latest=Max("version"))["latest"] or 0
    policy_set = PolicySet.objects.create(retailer=retailer, version=latest + 1, created_by=actor, notes=notes)
    PolicyRule.objects.bulk_create([
        PolicyRule(policy_set=policy_set, rule_id=rule["rule_id"], kind=rule["kind"], severity=rule["severity"],
                   category=rule["category"], spec=rule["spec"])
        for rule in rules
    ])
    return policy_set


@transaction.atomic
def policy_draft_create(*, retailer: Tenant, actor: str, notes: str = "") -> PolicySet:
    """An empty draft as the retailer's next version (the admin adds its rules)."""
    policy_set = _new_draft(retailer=retailer, rules=[], actor=actor, notes=notes)
    _audit(actor=actor, action="policy.create", policy_set=policy_set)
    return policy_set


def policy_import(*, retailer: Tenant, document: Any, actor: str) -> PolicySet:
    """Store the document's rules as the retailer's next version, a draft. A malformed document is refused whole
    (ApiError 400 naming the entry and field) and nothing is stored."""
    try:
        rules = policy_document_validate(document, retailer_slug=retailer.slug)
    except PolicyError as exc:
        audit_record(actor=actor, action="policy.import", outcome=Outcome.FAILURE, object_type="policy_set",
                     object_id=retailer.slug, details={"retailer": retailer.slug, "refused": exc.details})
        where = f"rules[{exc.entry}]." if exc.entry is not None else ""
        raise ApiError(status_code=400, code="invalid_policy",
                       message=POLICY_REFUSED.format(problem=f"{where}{exc.field}: {exc.message}"),
                       details=exc.details) from exc
    with transaction.atomic():
        policy_set = _new_draft(retailer=retailer, rules=rules, actor=actor, notes=document.get("notes", ""))
        _audit(actor=actor, action="policy.import", policy_set=policy_set, rules=len(rules),
               source_version=document.get("version"))
    return policy_set


@transaction.atomic
def policy_copy(*, policy_set: PolicySet, actor: str) -> PolicySet:
    """A new draft holding the same rules: how an active (or retired) set is edited."""
    copy = _new_draft(retailer=policy_set.retailer, rules=policy_rules(policy_set=policy_set), actor=actor,
                      notes=f"Copied from version {policy_set.version}.")
    _audit(actor=actor, action="policy.copy", policy_set=copy, source_version=policy_set.version)
    return copy


@transaction.atomic
def policy_activate(*, retailer: Tenant, version: int, actor: str) -> tuple[PolicySet, PolicySet | None]:
    """Make a draft (or a retired version, to roll back) the active set; the active one retires. Returns the
    activated set and the one it replaced."""
    Tenant.objects.select_for_update().filter(pk=retailer.pk).first()
    policy_set = policy_set_of_retailer(retailer=retailer, version=version)
    if policy_set.status == PolicyStatus.ACTIVE:
        raise ApiError(status_code=409, code="already_active", message=ALREADY_ACTIVE.format(version=version))
    previous = PolicySet.objects.filter(retailer=retailer, status=PolicyStatus.ACTIVE).first()
    if previous is not None:
        # Retire first: the database allows one active set per retailer at any moment.
        previous.status = PolicyStatus.RETIRED
        previous.save(update_fields=["status", "updated_at"])
    policy_set.status = PolicyStatus.ACTIVE
    policy_set.save(update_fields=["status", "updated_at"])
    _audit(actor=actor, action="policy.activate", policy_set=policy_set,
           previous_version=previous.version if previous else None)
    from inference.rag.services import knowledge_index_on_commit

    # Retrieval must cite the rules now in force: the retailer's chunks are rebuilt once this commits.
    knowledge_index_on_commit(retailer=retailer, actor=actor, reason=f"policy v{version} activated")
    return policy_set, previous
