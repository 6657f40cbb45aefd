"""Plans and what they are built from (tenant schema): fitted response curves, incrementality factors, outcomes."""

from __future__ import annotations

from django.db import models

from rmn_saas.base_models import BaseModel


class PlanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Plan(BaseModel):
    """One budget plan: the request as given, the cells it was built from, the allocation, monitoring, rationale."""

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.QUEUED)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.CharField(max_length=200)
    request = models.JSONField(default=dict)  # budget, objective, constraints, scope, incrementality, explore
    objective = models.CharField(max_length=16, default="margin")
    budget = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    history_from = models.DateField(null=True, blank=True)
    history_to = models.DateField(null=True, blank=True)
    flight_start = models.DateField(null=True, blank=True)
    flight_end = models.DateField(null=True, blank=True)
    cells = models.JSONField(default=list, blank=True)  # per cell: curve, fit, margin rate, factor, stock-out
    allocation = models.JSONField(null=True, blank=True)  # campaigns.optimize Allocation.to_dict()
    monitoring = models.JSONField(null=True, blank=True)  # pacing targets, cadence, guardrails
    assumptions = models.JSONField(default=list, blank=True)  # what the plan assumed where data was missing
    rationale = models.TextField(blank=True)
    error = models.JSONField(null=True, blank=True)
    expected_spend = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    expected_incremental_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    expected_incremental_margin = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=PlanStatus.values), name="plan_status_valid"),
            models.CheckConstraint(condition=models.Q(budget__gte=0) | models.Q(budget__isnull=True),
                                   name="plan_budget_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def flight_days(self) -> int:
        if not (self.flight_start and self.flight_end):
            return 0
        return (self.flight_end - self.flight_start).days + 1


class ResponseCurve(BaseModel):
    """The latest posterior of one cell's daily response curve: incremental sales per day vs spend per day.

    Refitted by the daily follow-up from new RMIS data; plans copy what they used into `Plan.cells`.
    """

    cell = models.CharField(max_length=700, unique=True)  # network|placement|campaign|product (plans/history.py)
    network = models.CharField(max_length=32)
    placement = models.CharField(max_length=32)
    campaign = models.CharField(max_length=300)  # the campaign id, else its name
    campaign_name = models.CharField(max_length=300, blank=True)
    gtin14 = models.CharField(max_length=14, blank=True)
    product = models.CharField(max_length=300)  # the GTIN, else the ad group naming the product
    form = models.CharField(max_length=8)
    vmax = models.FloatField()
    h = models.FloatField()
    k = models.FloatField(default=1.0)
    samples = models.JSONField(default=list, blank=True)  # posterior draws [{vmax, h, k}, ...] (Laplace)
    incrementality = models.FloatField()  # the factor the attributed sales were scaled by before fitting
    incrementality_source = models.CharField(max_length=200, blank=True)
    n_points = models.IntegerField(default=0)
    rmse = models.FloatField(default=0.0)
    thin = models.BooleanField(default=False)
    pooled_from = models.CharField(max_length=200, blank=True)
    carryover = models.FloatField(default=0.0)  # the share of a day's response booked on later days (booking lag)
    history_from = models.DateField()
    history_to = models.DateField()
    mean_daily_spend = models.DecimalField(max_digits=18, decimal_places=2, default=0)  # over the last 28 days

    class Meta:
        ordering = ["cell"]

    def __str__(self) -> str:
        return f"{self.cell}: {self.form} vmax={self.vmax:.2f} h={self.h:.2f} k={self.k:.2f}"


class IncrementalityFactor(BaseModel):
    """Incremental share of attributed sales for a network, placement and/or campaign (blank = any).

    Experiment readouts (the measurement engine) and analysts write these; plans fall back to documented defaults.
    """

    network = models.CharField(max_length=32, blank=True)
    placement = models.CharField(max_length=32, blank=True)
    campaign = models.CharField(max_length=300, blank=True)  # the campaign id (else name), for a campaign's readout
    factor = models.FloatField()
    source = models.CharField(max_length=200, default="manual")  # e.g. "experiment 12: geo test, 2026-10"
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["network", "placement", "campaign"]
        constraints = [
            models.UniqueConstraint(fields=["network", "placement", "campaign"], name="incrementality_scope"),
            models.CheckConstraint(condition=models.Q(factor__gt=0) & models.Q(factor__lte=1),
                                   name="incrementality_factor_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.network or '*'} / {self.placement or '*'} / {self.campaign or '*'}: {self.factor:.2f}"


class PlanOutcome(BaseModel):
    """One day of a plan's flight, as it happened: spend and sales realized vs the plan's expectation."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="outcomes")
    date = models.DateField()
    planned_spend = models.DecimalField(max_digits=18, decimal_places=2)
    actual_spend = models.DecimalField(max_digits=18, decimal_places=2)
    expected_incremental_sales = models.DecimalField(max_digits=18, decimal_places=2)  # plan curves at actual spend
    actual_attributed_sales = models.DecimalField(max_digits=18, decimal_places=2)
    actual_incremental_sales = models.DecimalField(max_digits=18, decimal_places=2)  # attributed × factor
    expected_incremental_margin = models.DecimalField(max_digits=18, decimal_places=2)  # the plan's, for the day
    actual_incremental_margin = models.DecimalField(max_digits=18, decimal_places=2)
    regret = models.DecimalField(max_digits=18, decimal_places=2)  # expected − realized incremental margin

    class Meta:
        ordering = ["plan", "date"]
        constraints = [models.UniqueConstraint(fields=["plan", "date"], name="plan_outcome_day")]

    def __str__(self) -> str:
        return f"plan {self.plan_id} {self.date}: regret {self.regret}"
