"""LoRA adapters (public schema, each row owned by a tenant): what an adapter is for, the base model it fits, its
shape, its lifecycle, and the hashes and platform signature of its two files (stored encrypted, see `artifacts`).

Rows never change their artifact: a new artifact is a new version under the same name.
"""

from __future__ import annotations

from django.db import models

from rmn_saas.base_models import BaseModel
from tenants.models import Tenant

MODEL_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
ARTIFACT_FILES = (MODEL_FILE, CONFIG_FILE)


class AdapterKind(models.TextChoices):
    RETAILER = "retailer", "Retailer"
    BRAND = "brand", "Brand"
    TASK = "task", "Task"


class AdapterStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    RETIRED = "retired", "Retired"


# The order of a stack, and the tenant kind that owns each adapter kind.
STACK_ORDER = (AdapterKind.RETAILER, AdapterKind.BRAND, AdapterKind.TASK)
OWNER_KIND = {AdapterKind.RETAILER: "retailer", AdapterKind.BRAND: "brand", AdapterKind.TASK: "platform"}
KIND_OF_OWNER = {tenant_kind: kind for kind, tenant_kind in OWNER_KIND.items()}


class Adapter(BaseModel):
    name = models.SlugField(max_length=100)
    kind = models.CharField(max_length=16, choices=AdapterKind.choices)
    owner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="adapters")
    task = models.SlugField(max_length=100, blank=True, help_text="Task adapters only: the task they serve.")
    base_model = models.CharField(max_length=200)
    rank = models.PositiveIntegerField()
    alpha = models.FloatField()
    target_modules = models.JSONField(default=list)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=AdapterStatus.choices, default=AdapterStatus.DRAFT)
    published = models.BooleanField(default=False, help_text="Retailer adapters only: usable by every brand.")
    metrics = models.JSONField(default=dict, blank=True, help_text="Evaluation metrics, as the owner reports them.")
    model_sha256 = models.CharField(max_length=64)
    config_sha256 = models.CharField(max_length=64)
    model_bytes = models.PositiveBigIntegerField()
    config_bytes = models.PositiveIntegerField()
    signature = models.CharField(max_length=128, blank=True)  # Ed25519, hex; see artifacts.signed_message
    signing_key_id = models.CharField(max_length=16, blank=True)
    created_by = models.CharField(max_length=200)
    approved_by = models.CharField(max_length=200, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name", "version"], name="adapter_version_unique"),
            models.CheckConstraint(condition=models.Q(kind__in=AdapterKind.values), name="adapter_kind_valid"),
            models.CheckConstraint(condition=models.Q(status__in=AdapterStatus.values), name="adapter_status_valid"),
            models.CheckConstraint(condition=models.Q(rank__gte=1), name="adapter_rank_positive"),
            models.CheckConstraint(condition=models.Q(alpha__gt=0), name="adapter_alpha_positive"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="adapter_version_positive"),
            # A task adapter names its task; no other kind does.
            models.CheckConstraint(condition=(models.Q(kind=AdapterKind.TASK) & ~models.Q(task=""))
                                   | (~models.Q(kind=AdapterKind.TASK) & models.Q(task="")),
                                   name="adapter_task_iff_task_kind"),
            models.CheckConstraint(condition=models.Q(published=False) | models.Q(kind=AdapterKind.RETAILER),
                                   name="adapter_only_retailers_publish"),
            models.CheckConstraint(
                condition=models.Q(status=AdapterStatus.DRAFT, approved_at__isnull=True, retired_at__isnull=True)
                | models.Q(status=AdapterStatus.APPROVED, approved_at__isnull=False, retired_at__isnull=True)
                | models.Q(status=AdapterStatus.RETIRED, retired_at__isnull=False),
                name="adapter_status_dates"),
        ]
        indexes = [models.Index(fields=["kind", "status", "owner"], name="adapter_kind_status_owner")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.kind}, {self.status})"

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"
