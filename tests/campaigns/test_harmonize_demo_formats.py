"""Every network format the demo writes, with its real quirks, ingests into RMIS to the cent."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Count, Sum
from django_tenants.utils import schema_context

from campaigns.harmonize import IngestOptions, ingest_file
from campaigns.models import BatchStatus, RMISEvent, RMISSalesFact, RMISSKUCrosswalk, RMISSKUDimension

FORMATS = {
    "amazon_sp_search_term_seller.csv": "amazon-sp-seller",
    "amazon_sp_search_term_vendor_new.csv": "amazon-sp-vendor",
    "walmart_ui_download.csv": "walmart-ui",
    "walmart_api_snapshot.csv.gz": "walmart-api-snapshot",
    "instacart_legacy.csv": "instacart-legacy",
    "instacart_v3.csv": "instacart-v3",
    "megamart_criteo.csv": "criteo-retail-media",
    "megamart_criteo.xlsx": "criteo-retail-media",
}
ATTRIBUTION = {
    "amazon-sp-seller": (7, "click", "last_touch"),
    "amazon-sp-vendor": (14, "click", "last_touch"),
    "walmart-ui": (14, "click", "last_touch"),
    "walmart-api-snapshot": (14, "click", "last_touch"),
    "instacart-legacy": (14, "click_view", "linear"),
    "instacart-v3": (14, "click_view", "linear"),
    "criteo-retail-media": (30, "click_view", "last_touch"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    from campaigns.demo import generate_demo

    folder = tmp_path_factory.mktemp("demo")
    manifest = generate_demo(folder, days=45, skus=10)
    return folder, {entry["file"]: entry for entry in manifest["files"]}


def _ingest(path: Path, **options):
    return ingest_file(path=path, file_name=path.name, actor="test", options=IngestOptions(**options))


@pytest.mark.parametrize("file_name", sorted(FORMATS))
def test_each_demo_format_ingests_to_the_cent(acme, demo, file_name):
    folder, manifest = demo
    entry = manifest[file_name]
    with schema_context("acme"):
        # given the catalog, so product ids resolve to SKUs
        _ingest(folder / "catalog.csv")

        # when the export is ingested with format detection
        result = _ingest(folder / file_name)

        # then the right spec was detected and every row loaded
        summary = result.to_dict()
        assert summary["format"] == FORMATS[file_name]
        assert summary["detection"]["auto"] is True
        assert summary["rows_read"] == entry["rows"]
        assert summary["rows_loaded"] == entry["rows"]
        assert summary["rows_rejected"] == 0
        # and the totals equal the file's own totals to the cent, in the report and in the database
        for field in ("impressions", "clicks"):
            assert str(summary["totals"][field]) == entry["totals"][field], field
        for field in ("spend", "attributed_sales"):
            assert summary["totals"][field] == entry["totals"][field], field
        stored = RMISEvent.objects.filter(batch_id=result.batch.pk).aggregate(
            spend=Sum("spend"), sales=Sum("attributed_sales"), impressions=Sum("impressions"), rows=Count("line"))
        assert stored["rows"] == entry["rows"]
        assert stored["spend"] == Decimal(entry["totals"]["spend"])
        assert stored["sales"] == Decimal(entry["totals"]["attributed_sales"])
        assert stored["impressions"] == int(entry["totals"]["impressions"])
        # and every row carries its attribution explicitly
        window, scope, model = ATTRIBUTION[FORMATS[file_name]]
        attribution = set(RMISEvent.objects.filter(batch_id=result.batch.pk).values_list(
            "attribution_window_days", "attribution_scope", "attribution_model").distinct())
        assert attribution == {(window, scope, model)}


def test_product_ids_resolve_through_the_crosswalk(acme, demo):
    folder, _ = demo
    with schema_context("acme"):
        _ingest(folder / "catalog.csv")
        assert RMISSKUDimension.objects.count() == 10
        assert RMISSKUCrosswalk.objects.filter(id_type="walmart_item_id").count() == 10

        for file_name in ("walmart_ui_download.csv", "instacart_v3.csv", "megamart_criteo.csv"):
            batch = _ingest(folder / file_name).batch
            rows = RMISEvent.objects.filter(batch_id=batch.pk)
            # then every Walmart item id, Instacart UPC (leading zeros kept) and MegaMart id maps to a SKU
            assert rows.filter(sku__isnull=True).count() == 0, file_name
            assert set(rows.values_list("sku_id", flat=True)) <= set(
                RMISSKUDimension.objects.values_list("gtin14", flat=True))


def test_walmart_snapshot_keeps_every_attribution_window(acme, demo):
    folder, _ = demo
    with schema_context("acme"):
        batch = _ingest(folder / "walmart_api_snapshot.csv.gz").batch
        row = RMISEvent.objects.filter(batch_id=batch.pk, attributed_sales__gt=0).first()
        # then the 14-day figure is primary and the 3- and 30-day ones travel with it
        assert row.attribution_window_days == 14
        assert set(row.sales_by_window) == {"3", "30"}
        assert Decimal(row.sales_by_window["3"]) <= row.attributed_sales <= Decimal(row.sales_by_window["30"])


def test_reingest_is_a_no_op(acme, demo):
    folder, manifest = demo
    with schema_context("acme"):
        # given a loaded file
        first = _ingest(folder / "amazon_sp_search_term_seller.csv")
        before = RMISEvent.objects.count()

        # when the same file arrives again
        second = _ingest(folder / "amazon_sp_search_term_seller.csv")

        # then nothing changes: it is recorded as a duplicate of the first batch
        assert second.unchanged is True
        assert second.batch.status == BatchStatus.DUPLICATE
        assert second.batch.duplicate_of_id == first.batch.pk
        assert RMISEvent.objects.count() == before


def test_a_restated_file_replaces_the_overlapping_rows(acme, demo):
    folder, manifest = demo
    restated = folder / "restated" / "amazon_sp_search_term_seller_restated.csv"
    with schema_context("acme"):
        # given the original seller file
        original = _ingest(folder / "amazon_sp_search_term_seller.csv").batch
        total_rows = RMISEvent.objects.count()

        # when Amazon's restatement of the last 14 days arrives
        result = _ingest(restated)

        # then the overlapping rows were replaced, not added to
        summary = result.to_dict()
        assert summary["rows_replaced"] == summary["rows_loaded"] > 0
        assert RMISEvent.objects.count() == total_rows
        window = RMISEvent.objects.filter(date__gte=summary["date_min"])
        assert set(window.values_list("batch_id", flat=True)) == {result.batch.pk}
        assert window.aggregate(s=Sum("attributed_sales"))["s"] == Decimal(summary["totals"]["attributed_sales"])
        assert RMISEvent.objects.filter(batch_id=original.pk, date__gte=summary["date_min"]).count() == 0
        # and the restatement is explained as an anomaly
        codes = [anomaly["code"] for anomaly in summary["anomalies"]]
        assert "restatement" in codes


def test_sales_and_inventory_load(acme, demo):
    folder, _ = demo
    with schema_context("acme"):
        _ingest(folder / "catalog.csv")
        result = _ingest(folder / "sales_inventory.csv")
        summary = result.to_dict()
        assert summary["format"] == "sales-inventory"
        assert summary["rows_rejected"] == 0
        facts = RMISSalesFact.objects.filter(batch_id=result.batch.pk)
        assert facts.count() == summary["rows_loaded"]
        assert str(facts.aggregate(r=Sum("revenue"))["r"].quantize(Decimal("0.01"))) == summary["totals"]["revenue"]
        assert facts.filter(sku__isnull=True).count() == 0
        assert facts.filter(on_hand=0).exists()  # the demo's stock-outs
