"""Experiments (tenant schema): a designed test with its schedule, and later its readout."""

from __future__ import annotations

from django.db import models

from rmn_saas.base_models import BaseModel


class ExperimentKind(models.TextChoices):
    GEO = "geo", "Geo test"
    SWITCHBACK = "switchback", "Switchback"
    HOLDOUT = "holdout", "Audience holdout"


class ExperimentStatus(models.TextChoices):
    DESIGNED = "designed", "Designed"
    RUNNING = "running", "Running"
    READ_OUT = "read_out", "Read out"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE = (ExperimentStatus.DESIGNED, ExperimentStatus.RUNNING)  # still blocks other tests; can be cancelled


class Experiment(BaseModel):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ExperimentKind.choices)
    status = models.CharField(max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DESIGNED)
    created_by = models.CharField(max_length=200)
    retailer = models.CharField(max_length=64)
    metric = models.CharField(max_length=16, default="revenue")
    start_date = models.DateField()
    end_date = models.DateField()
    pre_from = models.DateField()
    pre_to = models.DateField()
    treated = models.JSONField(default=list)  # one list of region names per test cell
    control = models.JSONField(default=list)
    excluded = models.JSONField(default=list)
    request = models.JSONField(default=dict)
    design = models.JSONField(default=dict)  # the chosen candidate: mde, power, cost, fit, imbalance, score
    alternatives = models.JSONField(default=list)  # the other ranked candidates
    schedule = models.JSONField(default=list)  # what to do when: [{date, action, regions}]
    readout = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="experiment_dates_ordered"),
            models.CheckConstraint(condition=models.Q(status__in=ExperimentStatus.values),
                                   name="experiment_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.start_date} to {self.end_date})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def regions_in_test(self) -> set[str]:
        return {region for cell in self.treated for region in cell} | set(self.control)
