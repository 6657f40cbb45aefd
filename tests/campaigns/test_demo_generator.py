"""The demo data generator: real headers and quirks, exact totals, no duplicated facts, a truth that holds."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from campaigns.demo import generate_demo, upc_check_digit
from campaigns.demo.generate import main

# Headers copied from /work/shared/RMN_FORMATS.md (trailing spaces included), not imported from the generator.
AMAZON_SELLER = (
    "Date,Portfolio name,Currency,Campaign Name,Ad Group Name,Targeting,Match Type,Customer Search Term,Impressions,"
    "Clicks,Click-Thru Rate (CTR),Cost Per Click (CPC),Spend,7 Day Total Sales ,Total Advertising Cost of Sales (ACOS) "
    ",Total Return on Advertising Spend (ROAS),7 Day Total Orders (#),7 Day Total Units (#),7 Day Conversion Rate,"
    "7 Day Advertised SKU Units (#),7 Day Other SKU Units (#),7 Day Advertised SKU Sales ,7 Day Other SKU Sales "
)
AMAZON_VENDOR_NEW = (
    "Start Date,End Date,Portfolio name,Currency,Campaign Name,Ad Group Name,Retailer,Country,Targeting,Match Type,"
    "Customer Search Term,Impressions,Clicks,Click-Thru Rate (CTR),Cost Per Click (CPC),Spend,14 Day Total Sales ,"
    "Total Advertising Cost of Sales (ACOS) ,Total Return on Advertising Spend (ROAS),14 Day Total Orders (#),"
    "14 Day Total Units (#),14 Day Conversion Rate,14 Day Advertised SKU Units (#),14 Day Other SKU Units (#),"
    "14 Day Advertised SKU Sales ,14 Day Other SKU Sales "
)
WALMART_UI_DOC = (
    "Date,Campaign Name,Campaign Id,Ad Group Name,Ad Group Id,Item Name,Item Id,Searched Keyword,Bidded Keyword,"
    "Match Type,Impressions,Clicks,CTR,Ad Spend,Conversion Rate (Units Sold Based),Orders,"
    "Conversion Rate (Orders Based),Total Attributed Sales,Advertised SKU Sales,Other SKU Sales,Units Sold,"
    "Advertised SKU Units (#),Other SKU Units (#),RoAS"
)
WALMART_UI = WALMART_UI_DOC.replace("Ad Spend", "Ad spend").replace("Total Attributed Sales", "Total attributed sales")
WALMART_API = (
    "date,campaignId,adGroupId,itemId,itemName,numAdsShown,numAdsClicks,adSpend,"
    "attributedOrders3days,attributedSales3days,advertisedSkuSales3days,otherSkuSales3days,unitsSold3days,"
    "attributedOrders14days,attributedSales14days,advertisedSkuSales14days,otherSkuSales14days,unitsSold14days,"
    "attributedOrders30days,attributedSales30days,advertisedSkuSales30days,otherSkuSales30days,unitsSold30days"
)
INSTACART_V3 = (
    "event.date,product.status,campaign.name,ad_group.name,product.name,product.size,product.scan_code,event.spend,"
    "event.attributed_sales_linear,event.attributed_units_linear,event.roas_linear,event.impressions,event.clicks,"
    "event.ctr,event.cpc,event.ntb_attributed_sales_linear,event.percent_ntb_sales_linear,product.id,campaign.id,"
    "ad_group.id"
)
INSTACART_LEGACY = (
    "date,status,campaign,ad_group,product,product_size,upc,spend,attributed_sales,attributed_quantities,roas,"
    "impressions,clicks,ctr,average_cpc,ntb_attributed_sales,percent_ntb_attributed_sales,id,campaign_uuid,"
    "ad_group_uuid"
)
CRITEO = (
    "date,campaignId,campaignName,advProductId,advProductName,brandName,pageTypeName,environment,keyword,"
    "salesChannel,retailerId,retailerName,impressions,clicks,spend,attributedSales,attributedUnits,attributedOrders,"
    "ctr,cpc,cpo,cpm,roas"
)
CATALOG = "gtin,upc,asin,walmart_item_id,megamart_product_id,brand,name,category,size,list_price,unit_cost"
SALES = "date,gtin,retailer,region,units,revenue,on_hand"

SELLER = "amazon_sp_search_term_seller.csv"
RESTATED = "restated/amazon_sp_search_term_seller_restated.csv"
# file -> (expected header, impressions, clicks, spend, attributed sales columns)
AD_FILES = {
    SELLER: (AMAZON_SELLER, "Impressions", "Clicks", "Spend", "7 Day Total Sales "),
    RESTATED: (AMAZON_SELLER, "Impressions", "Clicks", "Spend", "7 Day Total Sales "),
    "amazon_sp_search_term_vendor_new.csv": (
        AMAZON_VENDOR_NEW,
        "Impressions",
        "Clicks",
        "Spend",
        "14 Day Total Sales ",
    ),
    "walmart_ui_download.csv": (WALMART_UI, "Impressions", "Clicks", "Ad spend", "Total attributed sales"),
    "walmart_api_snapshot.csv.gz": (WALMART_API, "numAdsShown", "numAdsClicks", "adSpend", "attributedSales14days"),
    "instacart_v3.csv": (
        INSTACART_V3,
        "event.impressions",
        "event.clicks",
        "event.spend",
        "event.attributed_sales_linear",
    ),
    "instacart_legacy.csv": (INSTACART_LEGACY, "impressions", "clicks", "spend", "attributed_sales"),
    "megamart_criteo.csv": (CRITEO, "impressions", "clicks", "spend", "attributedSales"),
    "megamart_criteo.xlsx": (CRITEO, "impressions", "clicks", "spend", "attributedSales"),
}
DAYS = 60


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, seed=7, days=DAYS, skus=12)


def read_table(path: Path) -> tuple[list[str], list[dict]]:
    """Header and rows of a demo file, read the way a careful ingester would (all cells as text)."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).active
        values = list(sheet.iter_rows(values_only=True))
        header = list(values[1])
        return header, [dict(zip(header, row, strict=True)) for row in values[2:]]
    if path.name.endswith(".gz"):
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    else:
        encoding = "cp1252" if path.name == "instacart_legacy.csv" else "utf-8-sig"
        text = path.read_bytes().decode(encoding)
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if lines[0] == ["Sponsored Products Search term report"]:
        lines = lines[1:]
    header = lines[0]
    return header, [dict(zip(header, row, strict=True)) for row in lines[1:]]


def money(value) -> Decimal:
    if isinstance(value, int | float):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return Decimal(value.replace("$", "").replace(",", "") or "0")


def count(value) -> int:
    return value if isinstance(value, int) else int(value.replace(",", ""))


def hill(spend: float, curve: dict) -> float:
    s_k = spend ** curve["k"]
    return curve["vmax"] * s_k / (s_k + curve["h"] ** curve["k"])


@pytest.mark.parametrize(
    ("name", "header"),
    [(name, spec[0]) for name, spec in AD_FILES.items()] + [("catalog.csv", CATALOG), ("sales_inventory.csv", SALES)],
)
def test_every_file_has_its_networks_exact_header(demo, name, header):
    # given
    out, manifest = demo

    # when
    written, rows = read_table(out / name)

    # then
    assert written == header.split(",")
    assert rows
    assert name in {f["file"] for f in manifest["files"]}


def test_walmart_ui_header_drifts_only_in_casing(demo):
    # given
    out, _ = demo

    # when
    header, _ = read_table(out / "walmart_ui_download.csv")

    # then
    assert header != WALMART_UI_DOC.split(",")
    assert [h.lower() for h in header] == [h.lower() for h in WALMART_UI_DOC.split(",")]


def test_amazon_seller_file_has_a_bom_then_a_title_row(demo):
    # given
    out, _ = demo

    # when
    raw = (out / SELLER).read_bytes()

    # then
    assert raw.startswith(b"\xef\xbb\xbfSponsored Products Search term report\r\n" + AMAZON_SELLER.encode() + b"\r\n")
    first_row = raw.split(b"\r\n")[2].decode()
    assert first_row.startswith('"Nov 01, 2025",')
    assert ",USD,SP - " in first_row


def test_amazon_seller_cells_are_formatted_as_the_console_does(demo):
    # given
    out, _ = demo

    # when
    _, rows = read_table(out / SELLER)

    # then
    assert all(r["Spend"].startswith("$") and r["Click-Thru Rate (CTR)"].endswith("%") for r in rows)
    assert all(r["Total Advertising Cost of Sales (ACOS) "] == "" for r in rows if money(r["7 Day Total Sales "]) == 0)
    assert any("," in r["Impressions"] for r in rows)
    assert {r["Customer Search Term"] for r in rows if r["Campaign Name"].endswith("Product Targeting")} == {"*"}
    assert {r["Currency"] for r in rows} == {"USD"}


def test_instacart_legacy_is_cp1252_and_not_utf8(demo):
    # given
    out, _ = demo

    # when
    raw = (out / "instacart_legacy.csv").read_bytes()

    # then
    text = raw.decode("cp1252")
    assert "Crème Brûlée" in text
    assert "Fiesta®" in text
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_walmart_api_snapshot_is_gzip(demo):
    # given
    out, _ = demo

    # when
    raw = (out / "walmart_api_snapshot.csv.gz").read_bytes()

    # then
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw).decode("utf-8").startswith(WALMART_API + "\n")


def test_upcs_keep_leading_zeros_and_have_valid_check_digits(demo):
    # given
    out, _ = demo

    # when
    _, catalog = read_table(out / "catalog.csv")
    _, v3 = read_table(out / "instacart_v3.csv")
    _, legacy = read_table(out / "instacart_legacy.csv")

    # then
    upcs = {r["upc"] for r in catalog}
    assert all(len(u) == 12 and u.isdigit() and int(u[-1]) == upc_check_digit(u[:-1]) for u in upcs)
    assert all(r["gtin"] == r["upc"].zfill(14) for r in catalog)
    assert any(u.startswith("0") for u in upcs)
    scanned = {r["product.scan_code"] for r in v3} | {r["upc"] for r in legacy}
    assert scanned <= upcs
    assert any(u.startswith("0") for u in scanned)
    assert upc_check_digit("629104150021") == 3


@pytest.mark.parametrize("name", list(AD_FILES))
def test_manifest_totals_equal_the_sums_of_the_written_values(demo, name):
    # given
    out, manifest = demo
    _, impressions, clicks, spend, sales = AD_FILES[name]
    totals = next(f["totals"] for f in manifest["files"] if f["file"] == name)

    # when
    _, rows = read_table(out / name)

    # then
    assert totals == {
        "impressions": str(sum(count(r[impressions]) for r in rows)),
        "clicks": str(sum(count(r[clicks]) for r in rows)),
        "spend": str(sum((money(r[spend]) for r in rows), Decimal("0.00"))),
        "attributed_sales": str(sum((money(r[sales]) for r in rows), Decimal("0.00"))),
    }


def test_sales_inventory_totals_and_rows(demo):
    # given
    out, manifest = demo
    entry = next(f for f in manifest["files"] if f["file"] == "sales_inventory.csv")

    # when
    _, rows = read_table(out / "sales_inventory.csv")

    # then
    assert entry["rows"] == len(rows)
    assert entry["totals"]["units"] == str(sum(int(r["units"]) for r in rows))
    assert entry["totals"]["revenue"] == str(sum((Decimal(r["revenue"]) for r in rows), Decimal("0.00")))
    assert {r["retailer"] for r in rows} == {"amazon", "walmart", "instacart", "megamart"}
    assert {r["region"] for r in rows} == {"US-NE", "US-SE", "US-MW", "US-SW", "US-W", "US-NW", "US-MA", "US-TX"}


def _dates(out: Path, name: str) -> set[str]:
    header, rows = read_table(out / name)
    column = header[0]
    return {str(r[column])[:10] if name.endswith(".xlsx") else r[column] for r in rows}


def _iso(us_date: str) -> str:
    month, day, year = us_date.split("/")
    return f"{year}-{month}-{day}"


def test_split_files_share_no_facts_and_cover_the_run(demo):
    # given
    out, _ = demo

    # when
    walmart_ui = {_iso(d) for d in _dates(out, "walmart_ui_download.csv")}
    walmart_api = _dates(out, "walmart_api_snapshot.csv.gz")
    instacart_legacy, instacart_v3 = _dates(out, "instacart_legacy.csv"), _dates(out, "instacart_v3.csv")
    criteo_csv, criteo_xlsx = _dates(out, "megamart_criteo.csv"), _dates(out, "megamart_criteo.xlsx")
    _, seller = read_table(out / SELLER)
    _, vendor = read_table(out / "amazon_sp_search_term_vendor_new.csv")

    # then
    for first, second in ((walmart_ui, walmart_api), (instacart_legacy, instacart_v3), (criteo_csv, criteo_xlsx)):
        assert first and second
        assert not first & second
        assert max(first) < min(second)
        assert len(first | second) == DAYS
    assert min(criteo_xlsx) == "2025-12-01"
    assert {r["Ad Group Name"] for r in seller}.isdisjoint({r["Ad Group Name"] for r in vendor})


def test_restated_file_covers_the_last_14_days_and_only_raises_sales(demo):
    # given
    out, _ = demo
    key_columns = ("Date", "Campaign Name", "Ad Group Name", "Targeting", "Match Type", "Customer Search Term")

    # when
    _, original = read_table(out / SELLER)
    _, restated = read_table(out / RESTATED)

    # then
    restated_dates = {r["Date"] for r in restated}
    original_dates = sorted(
        {r["Date"] for r in original}, key=lambda d: datetime.strptime(d, "%b %d, %Y").replace(tzinfo=UTC)
    )
    assert len(original_dates) == DAYS
    assert restated_dates == set(original_dates[-14:])
    before = {tuple(r[c] for c in key_columns): r for r in original if r["Date"] in restated_dates}
    after = {tuple(r[c] for c in key_columns): r for r in restated}
    assert before.keys() == after.keys()
    for key, row in after.items():
        assert money(row["7 Day Total Sales "]) >= money(before[key]["7 Day Total Sales "])
        assert count(row["7 Day Total Units (#)"]) >= count(before[key]["7 Day Total Units (#)"])
        assert (row["Impressions"], row["Clicks"], row["Spend"]) == (
            before[key]["Impressions"],
            before[key]["Clicks"],
            before[key]["Spend"],
        )
    assert sum(money(r["7 Day Total Sales "]) for r in after.values()) > sum(
        money(r["7 Day Total Sales "]) for r in before.values()
    )


def test_walmart_windows_are_nested(demo):
    # given
    out, _ = demo

    # when
    _, rows = read_table(out / "walmart_api_snapshot.csv.gz")

    # then
    for metric in ("attributedSales", "advertisedSkuSales", "otherSkuSales"):
        assert all(
            money(r[f"{metric}30days"]) >= money(r[f"{metric}14days"]) >= money(r[f"{metric}3days"]) for r in rows
        )
    for metric in ("attributedOrders", "unitsSold"):
        assert all(int(r[f"{metric}30days"]) >= int(r[f"{metric}14days"]) >= int(r[f"{metric}3days"]) for r in rows)
    assert any(money(r["attributedSales30days"]) > money(r["attributedSales3days"]) for r in rows)


def test_truth_curve_reproduces_the_incremental_sales_of_a_cell(demo):
    # given
    out, _ = demo
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    cell = next(c for c in truth["cells"] if c["program"] == "walmart" and c["placement"] == "Search Ingrid")
    ids = cell["identifiers"]
    daily = defaultdict(Decimal)
    _, ui = read_table(out / "walmart_ui_download.csv")
    _, api = read_table(out / "walmart_api_snapshot.csv.gz")

    # when
    for r in ui:
        if (r["Campaign Id"], r["Item Id"]) == (ids["campaign_id"], ids["item_id"]):
            daily[_iso(r["Date"])] += money(r["Ad spend"])
    for r in api:
        if (r["campaignId"], r["itemId"]) == (ids["campaign_id"], ids["item_id"]):
            daily[r["date"]] += money(r["adSpend"])
    with gzip.open(out / "truth_daily.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        recorded = {r["date"]: r for r in csv.DictReader(handle) if r["cell_id"] == cell["cell_id"]}

    # then
    assert len(recorded) == DAYS
    assert sum(daily.values()) == Decimal(cell["totals"]["spend"])
    for day, row in recorded.items():
        assert Decimal(row["spend"]) == daily.get(day, Decimal("0.00"))
        assert hill(float(daily.get(day, 0)), cell["curve"]) == pytest.approx(float(row["incremental_sales"]), abs=1e-3)
    total = sum(hill(float(s), cell["curve"]) for s in daily.values())
    assert total == pytest.approx(cell["totals"]["incremental_sales"], abs=1e-4)
    assert total / float(cell["totals"]["spend"]) == pytest.approx(cell["totals"]["incremental_roas"], abs=1e-6)


def test_truth_parameters_are_in_their_documented_ranges(demo):
    # given
    out, _ = demo

    # when
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))

    # then
    assert truth["seed"] == 7
    assert len(truth["skus"]) == 12
    assert {c["curve"]["form"] for c in truth["cells"]} == {"hill"}
    assert all(0.8 <= c["curve"]["k"] <= 2.2 for c in truth["cells"])
    assert all(0.3 <= c["incrementality"] <= 0.8 for c in truth["cells"])
    assert all(0.5 <= c["totals"]["incremental_roas"] <= 4 for c in truth["cells"])
    assert all({"window_days", "scope", "model"} <= c["attribution"].keys() for c in truth["cells"])
    megamart = truth["programs"]["megamart"]["attribution"]
    assert (megamart["click_window_days"], megamart["view_window_days"]) == (30, 1)
    assert truth["sales"]["regional_baselines"]
    assert all(s["asin"].startswith("B0") and len(s["asin"]) == 10 for s in truth["skus"])
    assert all(len(s["walmart_item_id"]) == 9 and s["megamart_product_id"].startswith("MM-") for s in truth["skus"])


def test_attributed_sales_are_incremental_over_incrementality(demo):
    # given
    out, manifest = demo
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    totals = {
        f["file"]: Decimal(f["totals"]["attributed_sales"])
        for f in manifest["files"]
        if "attributed_sales" in f["totals"]
    }

    # when
    walmart_cells = [c for c in truth["cells"] if c["program"] == "walmart"]
    expected = sum(c["totals"]["attributed_sales_expected"] for c in walmart_cells)
    incremental = sum(c["totals"]["incremental_sales"] for c in walmart_cells)
    written = totals["walmart_ui_download.csv"] + totals["walmart_api_snapshot.csv.gz"]

    # then
    assert float(written) == pytest.approx(expected, rel=0.05)
    assert 0.3 < incremental / expected < 0.8


def test_stockouts_in_truth_are_zero_on_hand_in_the_sales_file(demo):
    # given
    out, _ = demo
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    _, rows = read_table(out / "sales_inventory.csv")
    on_hand = {(r["date"], r["gtin"], r["retailer"], r["region"]): int(r["on_hand"]) for r in rows}

    # when
    stockouts = truth["stockouts"]

    # then
    assert stockouts
    for s in stockouts:
        key = (s["gtin"], s["retailer"], s["region"])
        assert on_hand[(s["first_day_at_zero"], *key)] == 0
        assert on_hand[(s["last_day_at_zero"], *key)] == 0
        assert s["days_at_zero"] >= 1


def test_same_seed_gives_the_same_bytes_and_another_seed_differs(demo, tmp_path):
    # given
    out, manifest = demo
    names = [f["file"] for f in manifest["files"]] + ["truth.json", "truth_daily.csv.gz", "manifest.json"]

    # when
    generate_demo(tmp_path / "again", seed=7, days=DAYS, skus=12)
    generate_demo(tmp_path / "other", seed=8, days=DAYS, skus=12)

    # then
    for name in names:
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name
    for name in AD_FILES:
        assert (tmp_path / "other" / name).read_bytes() != (out / name).read_bytes(), name


def test_cli_writes_the_folder(tmp_path, capsys):
    # given
    argv = [str(tmp_path / "cli"), "--seed", "3", "--days", "30", "--skus", "6"]

    # when
    code = main(argv)

    # then
    assert code == 0
    assert (tmp_path / "cli" / "README.txt").read_text(encoding="utf-8").startswith("Demo retail-media data for Acme")
    assert json.loads((tmp_path / "cli" / "manifest.json").read_text(encoding="utf-8"))["seed"] == 3
    assert "wrote" in capsys.readouterr().out
