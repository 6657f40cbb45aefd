"""Training runs (public schema, each owned by a tenant like the adapters they produce): what is trained on which
data with which hyper-parameters, its progress and loss curve, the evaluation against the base model, and the
adapter it registered (only when every step succeeded)."""

from __future__ import annotations

from django.db import models

from inference.adapters.models import Adapter, AdapterKind
from rmn_saas.base_models import BaseModel
from tenants.models import Tenant


class TrainingStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (TrainingStatus.SUCCEEDED, TrainingStatus.FAILED, TrainingStatus.CANCELLED)


class TrainingRun(BaseModel):
    owner = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="training_runs")
    kind = models.CharField(max_length=16, choices=AdapterKind.choices)
    name = models.SlugField(max_length=100, help_text="The adapter's name; the result is its next version.")
    task = models.SlugField(max_length=100, blank=True)
    dataset = models.SlugField(max_length=50, help_text="The dataset builder.")
    base_model = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=300, blank=True)
    hyperparameters = models.JSONField(default=dict)
    data_summary = models.JSONField(default=dict, blank=True)
    losses = models.JSONField(default=list, blank=True)  # [[step, loss], ...]
    evaluation = models.JSONField(default=dict, blank=True)
    timing = models.JSONField(default=dict, blank=True)
    adapter = models.ForeignKey(Adapter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.JSONField(null=True, blank=True)  # {"code", "message"}
    cancel_requested = models.BooleanField(default=False)
    created_by = models.CharField(max_length=200)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=TrainingStatus.values), name="training_status_valid"),
            models.CheckConstraint(condition=models.Q(progress__gte=0) & models.Q(progress__lte=1),
                                   name="training_progress_range"),
        ]

    def __str__(self) -> str:
        return f"training {self.pk}: {self.name} ({self.kind}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED
