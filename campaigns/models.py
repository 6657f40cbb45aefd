"""RMIS, the canonical retail-media schema every network's exports are harmonized into (tenant schema).

Facts (`RMISEvent`, `RMISSalesFact`) are written only by the harmonizer, in bulk with COPY; dimensions hold
SKUs (keyed by GTIN-14, with a crosswalk of every network's product ids) and audiences.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import BrinIndex
from django.db import models

from rmn_saas.base_models import BaseModel


class Placement(models.TextChoices):
    TOP_OF_SEARCH = "top_of_search", "Top of search"
    REST_OF_SEARCH = "rest_of_search", "Rest of search"
    IN_GRID = "in_grid", "In-grid"
    PRODUCT_PAGE = "product_page", "Product page"
    BUY_BOX = "buy_box", "Buy box"
    CAROUSEL = "carousel", "Carousel"
    HOMEPAGE = "homepage", "Homepage"
    BROWSE = "browse", "Browse"
    ONSITE_DISPLAY = "onsite_display", "Onsite display"
    OFFSITE = "offsite", "Offsite"
    VIDEO = "video", "Video"
    OTHER = "other", "Other"


class AttributionScope(models.TextChoices):
    CLICK = "click", "Click"
    CLICK_VIEW = "click_view", "Click + view"


class AttributionModel(models.TextChoices):
    LAST_TOUCH = "last_touch", "Last touch"
    LINEAR = "linear", "Linear"


class AudienceType(models.TextChoices):
    FIRST_PARTY = "first_party", "First-party"
    CONTEXTUAL = "contextual", "Contextual"
    LOOKALIKE = "lookalike", "Lookalike"
    RETARGETING = "retargeting", "Retargeting"


class SpecKind(models.TextChoices):
    AD_EVENTS = "ad_events", "Ad performance"
    CATALOG = "catalog", "Product catalog"
    SALES = "sales", "Sales and inventory"


class RMISSKUDimension(BaseModel):
    gtin14 = models.CharField(max_length=14, unique=True)
    brand = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=500, blank=True)
    category = models.CharField(max_length=200, blank=True)
    size = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    variable_measure = models.BooleanField(default=False)

    class Meta:
        ordering = ["gtin14"]
        verbose_name = "SKU"
        constraints = [
            models.CheckConstraint(condition=models.Q(gtin14__regex=r"^[0-9]{14}$"), name="sku_gtin14_digits"),
            models.CheckConstraint(condition=models.Q(price__gte=0) | models.Q(price__isnull=True),
                                   name="sku_price_non_negative"),
            models.CheckConstraint(condition=models.Q(unit_cost__gte=0) | models.Q(unit_cost__isnull=True),
                                   name="sku_cost_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.gtin14} {self.name}"

    @property
    def margin_rate(self):
        if self.price and self.unit_cost is not None and self.price > 0:
            return (self.price - self.unit_cost) / self.price
        return None


class RMISSKUCrosswalk(BaseModel):
    """Any network's product id (ASIN, Walmart item id, TCIN, retailer SKU, UPC as sent) → the SKU's GTIN-14."""

    sku = models.ForeignKey(RMISSKUDimension, on_delete=models.CASCADE, to_field="gtin14", db_column="gtin14",
                            related_name="crosswalk")
    id_type = models.CharField(max_length=32)  # asin, walmart_item_id, retailer_product_id, upc, ...
    network = models.CharField(max_length=32, blank=True)  # '' when the id is global (a UPC)
    value = models.CharField(max_length=64)

    class Meta:
        ordering = ["network", "id_type", "value"]
        constraints = [
            models.UniqueConstraint(fields=["network", "id_type", "value"], name="crosswalk_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.id_type}:{self.value} → {self.sku_id}"


class RMISAudienceDimension(BaseModel):
    network = models.CharField(max_length=32)
    segment_id = models.CharField(max_length=128)
    name = models.CharField(max_length=300, blank=True)
    type = models.CharField(max_length=16, choices=AudienceType.choices, blank=True)
    size = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["network", "segment_id"]
        verbose_name = "audience"
        constraints = [
            models.UniqueConstraint(fields=["network", "segment_id"], name="audience_unique_segment"),
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.segment_id}"


class MappingSpec(BaseModel):
    """A tenant's own mapping spec (built-in specs ship as JSON in campaigns/harmonize/specs/)."""

    name = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    network = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=SpecKind.choices, default=SpecKind.AD_EVENTS)
    definition = models.JSONField()
    created_by = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="mappingspec_name_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class BatchStatus(models.TextChoices):
    RUNNING = "running", "Running"
    LOADED = "loaded", "Loaded"
    FAILED = "failed", "Failed"
    DUPLICATE = "duplicate", "Duplicate (unchanged)"


class IngestBatch(BaseModel):
    file_name = models.CharField(max_length=300)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_size = models.BigIntegerField()
    spec_name = models.CharField(max_length=100)
    spec_version = models.PositiveIntegerField()
    network = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=SpecKind.choices)
    account = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.RUNNING)
    detection = models.JSONField(default=dict, blank=True)
    rows_read = models.BigIntegerField(default=0)
    rows_loaded = models.BigIntegerField(default=0)
    rows_replaced = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True)
    date_min = models.DateField(null=True, blank=True)
    date_max = models.DateField(null=True, blank=True)
    error = models.TextField(blank=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.CharField(max_length=200)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "ingest batches"
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=BatchStatus.values), name="batch_status_valid"),
            # The same file through the same spec loads once; a re-upload is recorded as a duplicate.
            models.UniqueConstraint(fields=["file_sha256", "spec_name", "spec_version", "account"],
                                    condition=models.Q(status="loaded"), name="batch_loaded_once"),
        ]

    def __str__(self) -> str:
        return f"batch {self.pk} {self.file_name} ({self.status})"


class IngestReject(models.Model):
    batch = models.ForeignKey(IngestBatch, on_delete=models.CASCADE, related_name="rejects")
    line = models.BigIntegerField()  # 1-based line in the source file, header included
    reasons = models.JSONField()  # reason codes, e.g. ["clicks_exceed_impressions"]
    raw = models.JSONField()  # the source row, header → text

    class Meta:
        ordering = ["batch", "line"]

    def __str__(self) -> str:
        return f"batch {self.batch_id} line {self.line}: {', '.join(self.reasons)}"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class IngestAnomaly(BaseModel):
    batch = models.ForeignKey(IngestBatch, on_delete=models.CASCADE, related_name="anomalies")
    code = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["batch", "-severity", "code"]
        verbose_name_plural = "ingest anomalies"


class RMISEvent(models.Model):
    """One day of one ad entity's delivery on one network, with its attribution made explicit.

    The key packs (batch, line) into one bigint, `batch << 32 | line`: COPY writes it without a sequence, and since
    ids only grow in load order a BRIN index finds them (the table keeps no btree primary-key index). Dimension
    links carry no database foreign key and no index on purpose: per-row RI triggers quadrupled the load time of a
    1M-row file, and each btree index added about a second (measured); the harmonizer writes only ids it resolved
    against the dimensions in the same transaction. A BRIN index on date (tiny, nearly free to maintain) serves the
    date-range queries.
    """

    id = models.BigIntegerField(primary_key=True)  # batch << 32 | line
    batch = models.ForeignKey(IngestBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    line = models.BigIntegerField()
    date = models.DateField()
    network = models.CharField(max_length=32)
    account = models.CharField(max_length=128, blank=True)
    campaign_id = models.CharField(max_length=64, blank=True)
    campaign_name = models.CharField(max_length=300, blank=True)
    ad_group_id = models.CharField(max_length=64, blank=True)
    ad_group_name = models.CharField(max_length=300, blank=True)
    ad_id = models.CharField(max_length=64, blank=True)
    placement = models.CharField(max_length=32, choices=Placement.choices, default=Placement.OTHER)
    placement_raw = models.CharField(max_length=128, blank=True)
    environment = models.CharField(max_length=32, blank=True)  # web, app, in-store... where the network splits it
    audience = models.ForeignKey(RMISAudienceDimension, null=True, blank=True, on_delete=models.DO_NOTHING,
                                 db_constraint=False, db_index=False, related_name="+")
    sku = models.ForeignKey(RMISSKUDimension, null=True, blank=True, on_delete=models.DO_NOTHING,
                            db_constraint=False, db_index=False, to_field="gtin14", db_column="gtin14",
                            related_name="+")
    product_id_raw = models.CharField(max_length=64, blank=True)
    keyword = models.CharField(max_length=300, blank=True)
    search_term = models.CharField(max_length=500, blank=True)
    match_type = models.CharField(max_length=32, blank=True)
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    spend = models.DecimalField(max_digits=18, decimal_places=4)
    currency = models.CharField(max_length=3)
    attributed_sales = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    # Decimal, not integer: linear multi-touch attribution credits fractions of orders and units.
    attributed_orders = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    attributed_units = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    attribution_window_days = models.PositiveSmallIntegerField()
    attribution_scope = models.CharField(max_length=16, choices=AttributionScope.choices)
    attribution_model = models.CharField(max_length=16, choices=AttributionModel.choices)
    same_sku_sales = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    other_sku_sales = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    ntb_sales = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    # The same metric at the other windows the source reported, e.g. {"3": "12.3000", "30": "15.0000"}.
    sales_by_window = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "RMIS event"
        # `id` is unique by construction (batch << 32 | line) and not enforced: migration 0003 swaps the primary key's
        # btree (about a second per million rows on every load, measured) for a BRIN on id, which follows load order.
        indexes = [BrinIndex(fields=["date"], name="rmisevent_date_brin"),
                   BrinIndex(fields=["id"], name="rmisevent_id_brin")]
        constraints = [
            models.CheckConstraint(condition=models.Q(impressions__gte=0) & models.Q(clicks__gte=0),
                                   name="rmisevent_counts_non_negative"),
            models.CheckConstraint(condition=models.Q(spend__gte=0), name="rmisevent_spend_non_negative"),
            models.CheckConstraint(condition=models.Q(attribution_window_days__gte=1),
                                   name="rmisevent_window_positive"),
            models.CheckConstraint(condition=models.Q(attribution_scope__in=AttributionScope.values),
                                   name="rmisevent_scope_valid"),
            models.CheckConstraint(condition=models.Q(attribution_model__in=AttributionModel.values),
                                   name="rmisevent_model_valid"),
            models.CheckConstraint(condition=models.Q(placement__in=Placement.values),
                                   name="rmisevent_placement_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.network} {self.campaign_name or self.campaign_id} {self.spend} {self.currency}"


class RMISSalesFact(models.Model):
    """Daily sell-through and inventory by SKU × retailer × region (feeds margins and stock-out risk)."""

    id = models.BigIntegerField(primary_key=True)  # batch << 32 | line, as for RMISEvent
    batch = models.ForeignKey(IngestBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    line = models.BigIntegerField()
    date = models.DateField()
    sku = models.ForeignKey(RMISSKUDimension, null=True, blank=True, on_delete=models.DO_NOTHING,
                            db_constraint=False, db_index=False, to_field="gtin14", db_column="gtin14",
                            related_name="+")
    product_id_raw = models.CharField(max_length=64, blank=True)
    retailer = models.CharField(max_length=64)
    region = models.CharField(max_length=32, blank=True)
    units = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    on_hand = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["date"]
        verbose_name = "RMIS sales fact"
        indexes = [BrinIndex(fields=["date"], name="rmissales_date_brin"),
                   BrinIndex(fields=["id"], name="rmissales_id_brin")]
        constraints = [
            models.CheckConstraint(condition=models.Q(units__gte=0) & models.Q(revenue__gte=0),
                                   name="rmissales_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.retailer} {self.region} {self.sku_id}: {self.units} units"


class RMISCampaignDay(models.Model):
    """Daily totals per network, account and campaign, written with every batch of ad events.

    Anomaly history, restatement checks and currency checks read these few rows per campaign-day instead of
    scanning the facts, which keeps an ingest's cost independent of how much history the tenant holds.
    """

    batch = models.ForeignKey(IngestBatch, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    network = models.CharField(max_length=32)
    account = models.CharField(max_length=128, blank=True)
    campaign_key = models.CharField(max_length=300)  # the campaign id, or its name where the network gives none
    date = models.DateField()
    currency = models.CharField(max_length=3)
    spend = models.DecimalField(max_digits=18, decimal_places=4)
    attributed_sales = models.DecimalField(max_digits=18, decimal_places=4)
    impressions = models.BigIntegerField()
    clicks = models.BigIntegerField()
    rows = models.IntegerField()

    class Meta:
        ordering = ["date"]
        verbose_name = "campaign day"
        indexes = [models.Index(fields=["network", "account", "date"], name="campaignday_network_acct_date"),
                   BrinIndex(fields=["id"], name="campaignday_id_brin")]  # no btree on the key: see migration 0003

    def __str__(self) -> str:
        return f"{self.date} {self.network} {self.campaign_key}: {self.spend} {self.currency}"


# Plans live in their own module; importing them here registers them with the campaigns app.
from campaigns.measure.models import Experiment, ExperimentKind, ExperimentStatus  # noqa: E402, F401
from campaigns.plans.models import IncrementalityFactor, Plan, PlanOutcome, PlanStatus, ResponseCurve  # noqa: E402, F401
