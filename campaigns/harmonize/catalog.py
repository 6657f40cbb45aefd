"""Catalog rows → the SKU dimension (keyed by GTIN-14) and the crosswalk of every network's product ids."""

from __future__ import annotations

import polars as pl
from django.utils import timezone

from campaigns.harmonize.gtin import normalize_many
from campaigns.harmonize.specs import Spec
from campaigns.models import RMISSKUCrosswalk, RMISSKUDimension

# catalog field → (crosswalk id type, network); the retailer id's network comes from the spec column options.
CROSSWALK_FIELDS = {"asin": ("asin", "amazon"), "walmart_item_id": ("walmart_item_id", "walmart")}
DIMENSION_FIELDS = ("brand", "name", "category", "size", "price", "unit_cost")


def catalog_upsert(valid: pl.DataFrame, *, spec: Spec) -> dict[str, int]:
    """Insert or update SKUs and their crosswalk ids; rows whose GTIN is missing or invalid were rejected earlier."""
    codes = [code for name in ("gtin", "upc") if name in valid.columns
             for code in valid.get_column(name).to_list() if code]
    normalized = normalize_many(codes)
    retailer_network = next((rule.options.get("network", spec.network) for rule in spec.columns
                             if rule.field == "retailer_product_id"), spec.network)
    skus: dict[str, RMISSKUDimension] = {}
    crosswalk: dict[tuple[str, str, str], str] = {}
    stats = {"loaded": 0, "updated": 0, "crosswalk": 0, "variable_measure": 0}
    for row in valid.iter_rows(named=True):
        code = row.get("gtin") or row.get("upc")
        result = normalized.get(code) if code else None
        if result is None or not result.valid:
            continue
        gtin14 = result.gtin14
        stats["variable_measure"] += int(result.variable_measure)
        skus[gtin14] = RMISSKUDimension(
            gtin14=gtin14, variable_measure=result.variable_measure,
            **{name: (row.get(name) if row.get(name) is not None else ("" if name not in ("price", "unit_cost")
                                                                       else None)) for name in DIMENSION_FIELDS},
        )
        for name, (id_type, network) in CROSSWALK_FIELDS.items():
            if row.get(name):
                crosswalk[(network, id_type, row[name])] = gtin14
        if row.get("retailer_product_id"):
            crosswalk[(retailer_network, "retailer_product_id", row["retailer_product_id"])] = gtin14
        if code and code != gtin14:
            crosswalk[("", "upc", code)] = gtin14  # the code as the feeds send it
    existing = set(RMISSKUDimension.objects.filter(gtin14__in=list(skus)).values_list("gtin14", flat=True))
    now = timezone.now()
    for sku in skus.values():
        sku.created_at = sku.updated_at = now
    RMISSKUDimension.objects.bulk_create(
        list(skus.values()), update_conflicts=True, unique_fields=["gtin14"],
        update_fields=[*DIMENSION_FIELDS, "variable_measure", "updated_at"], batch_size=2000,
    )
    RMISSKUCrosswalk.objects.bulk_create(
        [RMISSKUCrosswalk(sku_id=gtin14, network=network, id_type=id_type, value=value, created_at=now, updated_at=now)
         for (network, id_type, value), gtin14 in crosswalk.items()],
        update_conflicts=True, unique_fields=["network", "id_type", "value"], update_fields=["sku", "updated_at"],
        batch_size=2000,
    )
    stats["loaded"] = len(skus)
    stats["updated"] = len(existing)
    stats["crosswalk"] = len(crosswalk)
    return stats
