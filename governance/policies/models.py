"""Retailer policies: the RMIS policy dimension (public schema, each policy set owned by a retailer tenant).

A set is versioned: only drafts change; editing an active set means copying it into a new draft, so every
violation cites a (rule id, version) pair that existed exactly as cited.
"""

from __future__ import annotations

from django.db import models

from rmn_saas.base_models import BaseModel
from tenants.models import Tenant, TenantKind


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class RuleKind(models.TextChoices):
    DISALLOWED_TERM = "disallowed_term", "Disallowed term"
    REQUIRED_DISCLAIMER = "required_disclaimer", "Required disclaimer"
    CREATIVE_SPEC = "creative_spec", "Creative spec"
    TARGETING_RESTRICTION = "targeting_restriction", "Targeting restriction"
    DATA_ACCESS = "data_access", "Data access"


class Severity(models.TextChoices):
    BLOCK = "block", "Block"
    WARN = "warn", "Warn"
    INFO = "info", "Info"


class PolicySet(BaseModel):
    retailer = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="policy_sets",
                                 limit_choices_to={"kind": TenantKind.RETAILER})
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT)
    created_by = models.CharField(max_length=200)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["retailer", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "version"], name="policyset_version_unique"),
            models.UniqueConstraint(fields=["retailer"], condition=models.Q(status=PolicyStatus.ACTIVE),
                                    name="policyset_one_active_per_retailer"),
            models.CheckConstraint(condition=models.Q(status__in=PolicyStatus.values), name="policyset_status_valid"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="policyset_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.retailer.slug} policies v{self.version} ({self.status})"

    @property
    def is_draft(self) -> bool:
        return self.status == PolicyStatus.DRAFT


class PolicyRule(BaseModel):
    policy_set = models.ForeignKey(PolicySet, on_delete=models.CASCADE, related_name="rules")
    rule_id = models.SlugField(max_length=100, help_text="Stable across versions; violations cite it.")
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.BLOCK)
    category = models.CharField(max_length=100, help_text="e.g. health_claims, superlatives, competitor_names")
    spec = models.JSONField(default=dict, help_text="Validated per kind: see governance/policies/rules.py.")

    class Meta:
        # Creation order is the document's order, so an exported set reads as it was imported.
        ordering = ["policy_set", "id"]
        constraints = [
            models.UniqueConstraint(fields=["policy_set", "rule_id"], name="policyrule_id_unique_per_set"),
            models.CheckConstraint(condition=models.Q(kind__in=RuleKind.values), name="policyrule_kind_valid"),
            models.CheckConstraint(condition=models.Q(severity__in=Severity.values),
                                   name="policyrule_severity_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.kind})"
