"""Demo history for plan tests: the generator's exports (with their known true curves) ingested into acme."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from campaigns.demo import generate_demo
from campaigns.harmonize import IngestOptions, ingest_file

_GENERATED: dict[tuple[int, int], Path] = {}


def demo_folder(tmp_path_factory, *, days: int, skus: int) -> Path:
    """Generate once per session and size (the generator is deterministic for its seed)."""
    key = (days, skus)
    if key not in _GENERATED:
        folder = tmp_path_factory.mktemp(f"demo-{days}d-{skus}skus")
        generate_demo(folder, days=days, skus=skus)
        _GENERATED[key] = folder
    return _GENERATED[key]


def load_demo(folder: Path, names: tuple[str, ...]) -> dict:
    with schema_context("acme"):
        for name in names:
            path = folder / name
            if path.exists():
                ingest_file(path=path, file_name=path.name, actor="test", options=IngestOptions())
    return json.loads((folder / "truth.json").read_text())


SMALL_FILES = ("catalog.csv", "walmart_ui_download.csv", "walmart_api_snapshot.csv.gz", "sales_inventory.csv")


@pytest.fixture
def walmart_history(acme, tmp_path_factory) -> dict:
    """Six weeks of Walmart exports for 5 SKUs (15 campaign × SKU cells), catalog and inventory; the truth."""
    return load_demo(demo_folder(tmp_path_factory, days=42, skus=5), SMALL_FILES)


@pytest.fixture
def committed_walmart_history(live_db, acme, tmp_path_factory):
    """The Walmart history, committed so the real worker sees it; removed afterwards with everything built on it."""
    from campaigns.models import (
        IngestBatch,
        Plan,
        ResponseCurve,
        RMISCampaignDay,
        RMISEvent,
        RMISSalesFact,
        RMISSKUCrosswalk,
        RMISSKUDimension,
    )

    with schema_context("acme"):
        last = IngestBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        skus_before = set(RMISSKUDimension.objects.values_list("pk", flat=True))
    truth = load_demo(demo_folder(tmp_path_factory, days=42, skus=5), SMALL_FILES)
    yield truth
    with schema_context("acme"):
        for model in (RMISEvent, RMISSalesFact, RMISCampaignDay):
            model.objects.filter(batch_id__gt=last).delete()
        IngestBatch.objects.filter(pk__gt=last).delete()
        new_skus = RMISSKUDimension.objects.exclude(pk__in=skus_before)
        RMISSKUCrosswalk.objects.filter(sku__in=new_skus).delete()
        new_skus.delete()
        Plan.objects.all().delete()
        ResponseCurve.objects.all().delete()
