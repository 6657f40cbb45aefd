"""A retailer's user-level clean-room data (tenant schema). Nothing here is ever read directly by anyone but the
clean-room executor, and only through the views `exposures`, `purchases` and `segments` (migration 0001), as a
read-only role, for queries the verifier accepted; `user_key` is an HMAC of the shopper id."""

from __future__ import annotations

from django.db import models


class Exposure(models.Model):
    user_key = models.CharField(max_length=64)
    campaign_id = models.CharField(max_length=64)
    placement = models.CharField(max_length=32)
    region = models.CharField(max_length=32)
    ts = models.DateTimeField()

    class Meta:
        db_table = "cleanroom_exposure"
        indexes = [models.Index(fields=["user_key"], name="cleanroom_exposure_user")]

    def __str__(self) -> str:
        return f"exposure to {self.campaign_id} at {self.ts:%Y-%m-%d}"


class Purchase(models.Model):
    user_key = models.CharField(max_length=64)
    gtin14 = models.CharField(max_length=14)
    region = models.CharField(max_length=32)
    ts = models.DateTimeField()
    units = models.IntegerField()
    revenue = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        db_table = "cleanroom_purchase"
        indexes = [models.Index(fields=["user_key"], name="cleanroom_purchase_user")]

    def __str__(self) -> str:
        return f"purchase of {self.gtin14} at {self.ts:%Y-%m-%d}"


class Segment(models.Model):
    user_key = models.CharField(max_length=64)
    segment = models.CharField(max_length=64)

    class Meta:
        db_table = "cleanroom_segment"
        indexes = [models.Index(fields=["user_key"], name="cleanroom_segment_user")]

    def __str__(self) -> str:
        return self.segment


class Audience(models.Model):
    """A brand's uploaded audience (hashed user keys), kept in the retailer's schema for one lease: the executor
    exposes it to that lease's queries, and only those, as the view `audience(user_key, audience)`."""

    lease_id = models.BigIntegerField()
    audience = models.CharField(max_length=64)
    user_key = models.CharField(max_length=64)

    class Meta:
        db_table = "cleanroom_audience"
        indexes = [models.Index(fields=["lease_id", "audience"], name="cleanroom_audience_lease"),
                   models.Index(fields=["user_key"], name="cleanroom_audience_user")]

    def __str__(self) -> str:
        return f"{self.audience} (lease {self.lease_id})"
