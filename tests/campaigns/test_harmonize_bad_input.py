"""Bad files get a clear reason and write nothing; bad rows are rejected with reason codes, never loaded as zero."""

import codecs
import gzip
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django_tenants.utils import schema_context

from campaigns.harmonize import IngestError, IngestOptions, ingest_file, readers
from campaigns.harmonize.pipeline import TOO_MANY_REJECTS, UNKNOWN_FORMAT
from campaigns.models import BatchStatus, IngestBatch, IngestReject, RMISEvent

WALMART_HEADER = ("Date,Campaign Name,Campaign Id,Ad Group Name,Ad Group Id,Item Name,Item Id,Searched Keyword,"
                  "Bidded Keyword,Match Type,Impressions,Clicks,CTR,Ad Spend,Conversion Rate (Units Sold Based),"
                  "Orders,Conversion Rate (Orders Based),Total Attributed Sales,Advertised SKU Sales,Other SKU Sales,"
                  "Units Sold,Advertised SKU Units (#),Other SKU Units (#),RoAS")


def walmart_row(day: int, *, spend="12.50", impressions="1000", clicks="20", sales="40.00", keyword="cereal",
                campaign="111") -> str:
    return (f"2026-05-{day:02d},Cereal,{campaign},AG,222,Oat Crunch,123456789,{keyword},{keyword},exact,"
            f"{impressions},{clicks},2.0,{spend},10,2,10,{sales},30.00,10.00,3,2,1,3.2")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def ingest(path: Path, **options):
    with schema_context("acme"):
        return ingest_file(path=path, file_name=path.name, actor="test", options=IngestOptions(**options))


def fails_with(path: Path, code: str, **options) -> IngestError:
    with pytest.raises(IngestError) as caught:
        ingest(path, **options)
    assert caught.value.code == code, caught.value.message
    return caught.value


def rmis_rows() -> int:
    with schema_context("acme"):
        return RMISEvent.objects.count()


@pytest.mark.parametrize(("content", "message"), [
    (b"", readers.EMPTY_FILE),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, readers.BINARY_JUNK),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, readers.LEGACY_XLS),
    (b"just one line of prose without any table in it\n", readers.NO_HEADER),
])
def test_unreadable_files_are_refused_with_the_reason(acme, tmp_path, content, message):
    # given a file that is no export
    path = tmp_path / "upload.csv"
    path.write_bytes(content)

    # when / then
    error = fails_with(path, "unreadable_file")
    assert error.message == message
    assert rmis_rows() == 0


def test_a_zip_that_is_not_a_workbook_is_refused(acme, tmp_path):
    import zipfile

    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("report.csv", WALMART_HEADER + "\n" + walmart_row(1))
    assert fails_with(path, "unreadable_file").message == readers.ZIP_NOT_XLSX


def test_headers_matching_no_spec_are_refused_with_the_closest_specs(acme, tmp_path):
    path = write(tmp_path, "mystery.csv", "Foo,Bar,Baz\n1,2,3\n4,5,6\n")
    error = fails_with(path, "unknown_format")
    assert error.message == UNKNOWN_FORMAT
    assert error.details["headers"] == ["Foo", "Bar", "Baz"]
    assert len(error.details["closest"]) == 3


def test_a_header_only_file_has_no_rows(acme, tmp_path):
    path = write(tmp_path, "walmart.csv", WALMART_HEADER + "\n")
    fails_with(path, "no_data_rows")
    with schema_context("acme"):
        assert IngestBatch.objects.filter(status=BatchStatus.FAILED).count() == 1


def test_files_over_the_size_limit_are_refused_before_parsing(acme, tmp_path, settings):
    settings.RMN_INGEST_MAX_BYTES = 100
    path = write(tmp_path, "walmart.csv", WALMART_HEADER + "\n" + walmart_row(1))
    error = fails_with(path, "file_too_large")
    assert error.details["limit"] == 100


def test_bad_rows_are_rejected_with_reasons_and_the_rest_loads(acme, tmp_path):
    # given 40 good rows and two bad ones (under the 5% limit)
    rows = [walmart_row(day % 28 + 1, keyword=f"k{day}") for day in range(40)]
    rows.append(walmart_row(3, spend="twelve", keyword="bad-money"))
    rows.append(walmart_row(4, clicks="5000", impressions="10", keyword="bad-clicks"))
    path = write(tmp_path, "walmart.csv", "\n".join([WALMART_HEADER, *rows]) + "\n")

    # when
    summary = ingest(path).to_dict()

    # then the good rows load and each bad row is kept with its reason and its source line
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (40, 2)
    with schema_context("acme"):
        rejects = {r.line: r.reasons for r in IngestReject.objects.filter(batch_id=summary["batch"])}
        assert rejects == {42: ["bad_money:spend"], 43: ["clicks_exceed_impressions"]}
        assert IngestReject.objects.get(batch_id=summary["batch"], line=42).raw["Ad Spend"] == "twelve"
    assert summary["totals"]["spend"] == str(Decimal("12.50") * 40)


def test_too_many_rejects_fail_the_whole_batch_and_write_nothing(acme, tmp_path):
    # given a file where a column changes meaning half way (spend turns into dates)
    rows = [walmart_row(day + 1, keyword=f"k{day}") for day in range(10)]
    rows += [walmart_row(day + 1, spend=f"2026-05-{day + 1:02d}", keyword=f"x{day}") for day in range(10)]
    path = write(tmp_path, "walmart.csv", "\n".join([WALMART_HEADER, *rows]) + "\n")

    # when / then the batch fails, says why, and no RMIS row was written
    error = fails_with(path, "too_many_rejects")
    assert error.message == TOO_MANY_REJECTS.format(share=0.5, limit=0.05)
    assert error.details["reasons"] == {"bad_money:spend": 10}
    assert rmis_rows() == 0
    with schema_context("acme"):
        batch = IngestBatch.objects.get(pk=error.details["batch"])
        assert batch.status == BatchStatus.FAILED
        assert IngestReject.objects.filter(batch=batch).count() == 10


def test_the_reject_limit_is_configurable_per_upload(acme, tmp_path):
    rows = [walmart_row(1, keyword="a"), walmart_row(2, keyword="b", spend="-3.00")]
    path = write(tmp_path, "walmart.csv", "\n".join([WALMART_HEADER, *rows]) + "\n")
    summary = ingest(path, max_reject_share=0.6).to_dict()
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (1, 1)


def test_duplicate_rows_are_rejected_not_double_counted(acme, tmp_path):
    rows = [walmart_row(1, keyword=f"k{i}") for i in range(30)] + [walmart_row(1, keyword="k0")]
    path = write(tmp_path, "walmart.csv", "\n".join([WALMART_HEADER, *rows]) + "\n")
    summary = ingest(path).to_dict()
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (30, 1)
    assert "duplicate_rows" in [a["code"] for a in summary["anomalies"]]


def test_excel_damaged_upcs_are_rejected_with_the_reason(acme, tmp_path):
    header = ("date, status, campaign, ad_group, product, product_size, upc, spend, attributed_sales, "
              "attributed_quantities, roas, impressions, clicks, ctr, average_cpc, ntb_attributed_sales, "
              "percent_ntb_attributed_sales, id, campaign_uuid, ad_group_uuid")
    good = [f"2026-05-0{d},active,C,AG,Oats,12 oz,036000291452,5.00,9.00,1.5,1.8,100,3,3%,1.66,1.00,10%,{d},u1,u2"
            for d in range(1, 10)]
    for extra in range(10, 40):
        good.append(f"2026-05-{extra % 28 + 1:02d},active,C,AG{extra},Oats,12 oz,036000291452,5.00,9.00,1.5,1.8,100,"
                    f"3,3%,1.66,1.00,10%,{extra},u1,u2")
    damaged = "2026-05-03,active,C,AGX,Oats,12 oz,3.60003E+10,5.00,9.00,1.5,1.8,100,3,3%,1.66,1.00,10%,99,u1,u2"
    path = write(tmp_path, "instacart.csv", "\n".join([header, *good, damaged]) + "\n")
    summary = ingest(path).to_dict()
    assert summary["format"] == "instacart-legacy"
    assert summary["rows_rejected"] == 1
    with schema_context("acme"):
        assert IngestReject.objects.get(batch_id=summary["batch"]).reasons == ["bad_gtin:excel_damaged"]


def test_localized_semicolon_file_with_comma_decimals_utf16(acme, tmp_path):
    # given an Italian Amazon console export: ';' separators, ',' decimals, € amounts, UTF-16 with a BOM
    header = "Data;Valuta;Nome campagna;Nome gruppo di annunci;Targeting;Match Type;Termine di ricerca del cliente;" \
             "Impressioni;Clic;Spesa;Vendite totali (€) 7 giorni;7 Day Total Orders (#);7 Day Total Units (#)"
    rows = [f"0{d}.05.2026;EUR;Cereali;Gruppo;avena;EXACT;termine {d};1.204;12;24,80 €;1.234,50 €;3;4"
            for d in range(1, 10)]
    path = tmp_path / "amazon_it.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "\r\n".join([header, *rows]).encode("utf-16-le"))

    summary = ingest(path).to_dict()

    assert summary["format"] == "amazon-sp-seller"
    assert summary["detection"]["file"] == {"type": "csv", "encoding": "utf-16", "delimiter": ";",
                                            "title_rows": 0, "gzip": False}
    assert summary["rows_loaded"] == 9
    assert summary["totals"]["spend"] == "223.20"
    assert summary["totals"]["attributed_sales"] == "11110.50"
    assert summary["totals"]["impressions"] == 9 * 1204


def test_cp1252_title_row_and_xlsx_and_json(acme, tmp_path):
    # cp1252 with a title row
    text = "Walmart Sponsored Search report\n" + WALMART_HEADER + "\n" + walmart_row(1, keyword="crème brûlée")
    cp1252 = write(tmp_path, "walmart_cp1252.csv", text, encoding="cp1252")
    summary = ingest(cp1252).to_dict()
    assert summary["detection"]["file"]["encoding"] == "cp1252"
    assert summary["detection"]["file"]["title_rows"] == 1
    with schema_context("acme"):
        assert RMISEvent.objects.get(batch_id=summary["batch"]).keyword == "crème brûlée"

    # an XLSX with real date cells
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Exported from Walmart Connect"])
    sheet.append(WALMART_HEADER.split(","))
    import datetime as dt

    values = walmart_row(2, keyword="xlsx").split(",")
    sheet.append([dt.date(2026, 5, 2), *[float(v) if v.replace(".", "").isdigit() else v for v in values[1:]]])
    xlsx = tmp_path / "walmart.xlsx"
    workbook.save(xlsx)
    summary = ingest(xlsx).to_dict()
    assert (summary["format"], summary["rows_loaded"], summary["date_min"]) == ("walmart-ui", 1, "2026-05-02")
    with schema_context("acme"):
        row = RMISEvent.objects.get(batch_id=summary["batch"])
        assert (row.campaign_id, row.product_id_raw) == ("111", "123456789")

    # Amazon API v3 JSON, gzipped
    records = [{"date": "2026-05-03", "campaignId": "123456789012345", "adGroupId": "9", "advertisedAsin": "B0TEST1234",
                "advertisedSku": "SKU1", "impressions": 100, "clicks": 4, "cost": 3.21, "sales7d": 10.5,
                "sales14d": 12.25, "purchases7d": 1, "unitsSoldClicks7d": 1, "attributedSalesSameSku7d": 10.5,
                "salesOtherSku7d": 0, "placementClassification": "Top of Search on-Amazon"}]
    api = tmp_path / "amazon_v3.json.gz"
    api.write_bytes(gzip.compress(json.dumps(records).encode()))
    summary = ingest(api).to_dict()
    assert summary["format"] == "amazon-api-v3"
    with schema_context("acme"):
        row = RMISEvent.objects.get(batch_id=summary["batch"])
        # long campaign ids stay text; the placement is mapped; the second window travels along
        assert row.campaign_id == "123456789012345"
        assert row.placement == "top_of_search"
        assert row.sales_by_window == {"14": "12.2500"}


def test_explicit_format_that_does_not_fit_names_the_missing_fields(acme, tmp_path):
    path = write(tmp_path, "walmart.csv", WALMART_HEADER + "\n" + walmart_row(1))
    error = fails_with(path, "headers_do_not_match", spec="instacart-v3")
    assert "date" in error.details["missing"]
    assert fails_with(path, "unknown_spec", spec="no-such-spec").details["known"]


def test_duplicates_across_chunks_are_caught(acme, tmp_path, monkeypatch):
    # given a file read in chunks of 7 rows, whose last row repeats one from the first chunk
    monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    rows = [walmart_row(1, keyword=f"k{i}") for i in range(30)] + [walmart_row(1, keyword="k2")]
    path = write(tmp_path, "walmart.csv", "\n".join([WALMART_HEADER, *rows]) + "\n")

    # when / then the repeat is rejected even though it sits four chunks later
    summary = ingest(path).to_dict()
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (30, 1)
    with schema_context("acme"):
        assert IngestReject.objects.get(batch_id=summary["batch"]).reasons == ["duplicate_row"]


def test_sponsored_brands_and_display_reports(acme, tmp_path):
    # given console reports of Sponsored Brands (14-day click+view, new-to-brand) and Sponsored Display
    sb_header = ("Date,Portfolio name,Currency,Campaign Name,Cost Type,Targeting,Match Type,Customer Search Term,"
                 "Impressions,Clicks,Click-Thru Rate (CTR),Cost Per Click (CPC),Spend,"
                 "Total Advertising Cost of Sales (ACoS) ,Total Return on Advertising Spend (RoAS),"
                 "14 Day Total Sales ,14 Day Total Orders (#),14 Day Total Units (#),14 Day Conversion Rate,"
                 "14 Day New-to-brand Orders (#),14 Day New-to-brand Sales ")
    sb_rows = [f'"Sep {d:02d}, 2026",Brand,USD,SB - Acme,CPC,acme cereal,BROAD,acme oats {d},"1,204",12,1.00%,$0.50,'
               f'$6.00,10.00%,10.00,"$1,060.00",3,4,25.00%,2,$20.00' for d in range(1, 11)]
    sd_header = ("Date,Currency,Campaign Name,Portfolio name,Cost Type,Ad Group Name,Advertised SKU,Advertised ASIN,"
                 "Impressions,Viewable Impressions,Clicks,Click-Thru Rate (CTR),14 Day Detail Page Views (DPV),Spend,"
                 "Cost Per Click (CPC),Cost per 1,000 viewable impressions (VCPM),"
                 "Total Advertising Cost of Sales (ACOS) ,"
                 "Total Return on Advertising Spend (ROAS),14 Day Total Orders (#),14 Day Total Units (#),"
                 "14 Day Total Sales ,14 Day New-to-brand Orders (#),14 Day New-to-brand Sales ")
    # the VCPM header itself contains a comma, so Amazon quotes it
    sd_header = sd_header.replace("Cost per 1,000 viewable impressions (VCPM)",
                                  '"Cost per 1,000 viewable impressions (VCPM)"')
    sd_rows = [f"2026-09-{d:02d},USD,SD - Acme,Brand,vCPM,Audience,SKU1,B0SDTEST{d:02d},900,700,4,0.44%,8,$3.00,"
               f"$0.75,$4.29,15.00%,6.67,1,1,$20.00,1,$20.00" for d in range(1, 11)]

    # when
    sb = ingest(write(tmp_path, "sb.csv", "\n".join([sb_header, *sb_rows]) + "\n")).to_dict()
    sd = ingest(write(tmp_path, "sd.csv", "\n".join([sd_header, *sd_rows]) + "\n")).to_dict()

    # then each is recognised, with its attribution, new-to-brand sales and ASINs kept
    assert (sb["format"], sb["rows_loaded"], sb["totals"]["attributed_sales"]) == ("amazon-sb", 10, "10600.00")
    assert (sd["format"], sd["rows_loaded"], sd["totals"]["spend"]) == ("amazon-sd", 10, "30.00")
    with schema_context("acme"):
        row = RMISEvent.objects.filter(batch_id=sb["batch"]).first()
        assert (row.attribution_window_days, row.attribution_scope, row.ntb_sales) == (14, "click_view",
                                                                                        Decimal("20.0000"))
        assert row.impressions == 1204
        display = RMISEvent.objects.filter(batch_id=sd["batch"]).order_by("date").first()
        assert (display.product_id_raw, display.placement) == ("B0SDTEST01", "onsite_display")
