"""Spec suggestions for unknown exports: value profiles, header mapping, `manage.py rmis_suggest_spec`, and a new
network onboarded from a suggested spec to the cent."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django_tenants.utils import schema_context

from campaigns.harmonize import IngestOptions, ingest_file
from campaigns.harmonize.gtin import check_digit
from campaigns.harmonize.readers import EMPTY_FILE, SourceFile, open_source
from campaigns.harmonize.specs import plan_columns, spec_from_document
from campaigns.harmonize.suggest import SCOPE_ASSUMED, WHY_RATIO, header_window, profile_column, suggest_spec
from campaigns.models import RMISEvent

KROGER_HEADER = ["Day", "Campaign", "Line Item", "Product UPC", "Imps", "Clicks", "Media Cost",
                 "Attributed Revenue (14d)", "Attributed Units", "CTR"]
KROGER_MAPPING = {
    "Day": "date",
    "Campaign": "campaign_name",
    "Line Item": "ad_group_name",
    "Product UPC": "product_id",
    "Imps": "impressions",
    "Clicks": "clicks",
    "Media Cost": "spend",
    "Attributed Revenue (14d)": "attributed_sales",
    "Attributed Units": "attributed_units",
    "CTR": None,
}
KROGER_ROWS = 40


def write_kroger_export(path: Path) -> Decimal:
    """A 'Kroger Precision Marketing'-style export no built-in spec knows; returns its spend total."""
    upcs = [body + str(check_digit(body)) for body in ("03600029145", "04123594490", "85003462509", "73621068417")]
    spend_total = Decimal("0.00")
    rows = []
    for day in range(10):
        date = dt.date(2025, 10, 1) + dt.timedelta(days=day)
        for c, campaign in enumerate(["KPM | Cereal | Onsite", "KPM | Snacks | Offsite"]):
            for li, line_item in enumerate(["Sponsored Product - Search", "Display - Browse"]):
                impressions = 900 + 137 * day + 1000 * c + 55 * li
                clicks = 3 + (7 * day + 3 * c + li) % 19
                # One line item spends over $1,000 a day: money with a thousands separator.
                cents = (1234 + 991 * day + 377 * c + 55 * li) * (100 if li == 0 and day == 3 else 1)
                spend = Decimal(cents) / 100
                spend_total += spend
                revenue = Decimal(4567 + 1301 * day + 211 * c + 13 * li) / 100
                rows.append([date.strftime("%m/%d/%Y"), campaign, line_item, upcs[(day + c + li) % 4],
                             f"{impressions:,}", str(clicks), f"${spend:,.2f}", f"${revenue:,.2f}",
                             str(1 + (day + c) % 5), f"{clicks / impressions:.2%}"])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(KROGER_HEADER)
        writer.writerows(rows)
    assert len(rows) == KROGER_ROWS
    return spend_total


def suggest_for(path: Path, workdir: Path, **options) -> dict:
    source = open_source(path, workdir=workdir)
    return suggest_spec(source, **{"name": "kroger-precision", "network": "kroger", **options})


# --- (a) an unknown network --------------------------------------------------------------------------------


def test_unknown_network_export_is_mapped_by_header_and_values(tmp_path):
    # given an export whose headers match no built-in spec
    path = tmp_path / "kroger.csv"
    write_kroger_export(path)

    # when a spec is suggested for it
    result = suggest_for(path, tmp_path)

    # then every header went to the right field, and the ratio column was left out
    assert {row["header"]: row["field"] for row in result["columns"]} == KROGER_MAPPING
    ctr = result["columns"][KROGER_HEADER.index("CTR")]
    assert (ctr["status"], ctr["why"]) == ("ignored", WHY_RATIO.format(words="ctr"))
    spec = result["spec"]
    assert spec["ignored"] == ["CTR"]
    assert result["unmapped_headers"] == []
    assert result["missing_required"] == []
    assert spec["required"] == ["date", "impressions", "clicks", "spend", "attributed_sales"]
    # and the transforms follow the values: US dates first, UPCs as GTINs, '$1,234.50' as money, '1,204' as a count
    assert spec["columns"]["date"]["formats"][0] == "%m/%d/%Y"
    assert {field: body["transform"] for field, body in spec["columns"].items()} == {
        "date": "date", "campaign_name": "text", "ad_group_name": "text", "product_id": "gtin",
        "impressions": "count", "clicks": "count", "spend": "money", "attributed_sales": "money",
        "attributed_units": "count",
    }
    assert spec["product_id_type"] == "gtin"
    assert spec["constants"] == {"currency": "USD"}
    # and the window comes from the header; scope and model are flagged as assumed
    assert spec["attribution"] == {"window_days": 14, "scope": "click", "model": "last_touch"}
    assert result["notes"] == [SCOPE_ASSUMED.format(scope="click", model="last_touch")]
    # and the document compiles and explains the file's headers
    compiled = spec_from_document(spec)
    plan = plan_columns(compiled, KROGER_HEADER)
    assert plan.missing_required == []
    assert plan.unmatched_headers == []
    assert plan.fields == {field: header for header, field in KROGER_MAPPING.items() if field}


def test_suggestion_is_deterministic(tmp_path):
    # given the unknown export
    path = tmp_path / "kroger.csv"
    write_kroger_export(path)

    # when it is suggested twice
    first = suggest_for(path, tmp_path)
    second = suggest_for(path, tmp_path)

    # then both drafts are the same, byte for byte
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_missing_required_fields_are_listed_and_left_out_of_required(tmp_path):
    # given an export without clicks, with a percent column under a plain name
    path = tmp_path / "no_clicks.csv"
    path.write_text("Date,Campaign,Impressions,Cost,Sales 7 Day,Share\n"
                    "2025-10-01,A,100,1.50,3.00,12.5%\n2025-10-02,A,120,1.75,0.00,10.0%\n", encoding="utf-8")

    # when a spec is suggested
    result = suggest_for(path, tmp_path)

    # then clicks is reported missing and the draft still compiles without it
    assert result["missing_required"] == ["clicks"]
    assert result["spec"]["required"] == ["date", "impressions", "spend", "attributed_sales"]
    assert result["spec"]["ignored"] == ["Share"]
    assert result["spec"]["attribution"]["window_days"] == 7
    assert spec_from_document(result["spec"]).required == ["date", "impressions", "spend", "attributed_sales"]


@pytest.mark.parametrize(("header", "days"), [
    ("14 Day Total Sales ", 14),
    ("Attributed Revenue (14d)", 14),
    ("attributedSales14days", 14),
    ("Sales (7-day)", 7),
    ("sales30d", 30),
    ("Day", None),
    ("Impressions", None),
])
def test_header_window(header, days):
    # when the attribution window is read from a header
    # then it is the number of days the header names, if any
    assert header_window(header) == days


# --- (b) the built-in formats, re-suggested ----------------------------------------------------------------

# file → (network, headers of date, impressions, clicks, spend, attributed_sales; window in days)
DEMO_FORMATS = {
    "amazon_sp_search_term_seller.csv": (
        "amazon", ("Date", "Impressions", "Clicks", "Spend", "7 Day Total Sales "), 7),
    "amazon_sp_search_term_vendor_new.csv": (
        "amazon", ("Start Date", "Impressions", "Clicks", "Spend", "14 Day Total Sales "), 14),
    "walmart_ui_download.csv": (
        "walmart", ("Date", "Impressions", "Clicks", "Ad spend", "Total attributed sales"), 14),
    "walmart_api_snapshot.csv.gz": (
        "walmart", ("date", "numAdsShown", "numAdsClicks", "adSpend", "attributedSales14days"), 14),
    "instacart_v3.csv": (
        "instacart", ("event.date", "event.impressions", "event.clicks", "event.spend",
                      "event.attributed_sales_linear"), 14),
    "instacart_legacy.csv": (
        "instacart", ("date", "impressions", "clicks", "spend", "attributed_sales"), 14),
    "megamart_criteo.csv": (
        "criteo", ("date", "impressions", "clicks", "spend", "attributedSales"), 30),
    "megamart_criteo.xlsx": (
        "criteo", ("date", "impressions", "clicks", "spend", "attributedSales"), 30),
}
CORE_FIELDS = ("date", "impressions", "clicks", "spend", "attributed_sales")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from campaigns.demo import generate_demo

    folder = tmp_path_factory.mktemp("demo")
    generate_demo(folder, days=30, skus=6)
    return folder


@pytest.mark.parametrize("file_name", sorted(DEMO_FORMATS))
def test_each_demo_format_is_resuggested_from_its_own_header_and_sample(demo, tmp_path, file_name):
    network, headers, window = DEMO_FORMATS[file_name]

    # when a spec is suggested for a demo export as if its format were unknown
    result = suggest_for(demo / file_name, tmp_path, name="resuggested", network=network)

    # then the core fields map to the headers the built-in spec uses, with its attribution window
    mapped = {row["field"]: row["header"] for row in result["columns"] if row["status"] == "mapped"}
    assert {field: mapped.get(field) for field in CORE_FIELDS} == dict(zip(CORE_FIELDS, headers, strict=True))
    assert result["missing_required"] == []
    assert result["spec"]["attribution"]["window_days"] == window
    # and the document compiles and finds those columns in the file
    source = open_source(demo / file_name, workdir=tmp_path)
    plan = plan_columns(spec_from_document(result["spec"]), source.headers)
    assert plan.missing_required == []
    assert {field: plan.fields[field] for field in CORE_FIELDS} == dict(zip(CORE_FIELDS, headers, strict=True))


def test_walmart_snapshot_windows_become_extra_windows(demo, tmp_path):
    # when the Walmart API snapshot (3-, 14- and 30-day columns) is re-suggested
    result = suggest_for(demo / "walmart_api_snapshot.csv.gz", tmp_path, name="walmart-again", network="walmart")

    # then the 14-day figures are primary and the other windows travel beside them
    spec = result["spec"]
    assert spec["columns"]["attributed_sales"]["headers"] == ["attributedSales14days"]
    assert spec["extra_windows"]["attributed_sales"] == {
        "3": {"headers": ["attributedSales3days"], "transform": "money"},
        "30": {"headers": ["attributedSales30days"], "transform": "money"},
    }
    assert spec["product_id_type"] == "walmart_item_id"
    assert result["unmapped_headers"] == []


# --- (c) the command ---------------------------------------------------------------------------------------


def test_command_prints_a_spec_that_loads(tmp_path):
    # given the unknown export under a human file name
    path = tmp_path / "Kroger Precision Export.csv"
    write_kroger_export(path)
    out, err = io.StringIO(), io.StringIO()

    # when the command suggests a spec
    call_command("rmis_suggest_spec", str(path), "--network", "kroger", stdout=out, stderr=err)

    # then stdout is the spec alone, as JSON that compiles, named after the file
    document = json.loads(out.getvalue())
    spec = spec_from_document(document)
    assert (spec.name, spec.network, spec.kind) == ("kroger-precision-export", "kroger", "ad_events")
    assert {rule.field: rule.headers for rule in spec.columns}["spend"] == ("media cost",)
    # and stderr holds the column table for the human
    lines = {re.split(r"\s{2,}", line)[0]: re.split(r"\s{2,}", line) for line in err.getvalue().splitlines()}
    assert lines["Media Cost"] == ["Media Cost", "spend", "money", "1.00",
                                   "header is a common name for spend; values money (100%)"]
    assert lines["CTR"][:2] == ["CTR", "(ignored)"]


def test_command_refuses_an_unreadable_file(tmp_path):
    # given an empty file
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    # when the command is run on it
    with pytest.raises(CommandError) as raised:
        call_command("rmis_suggest_spec", str(path), stdout=io.StringIO(), stderr=io.StringIO())

    # then it fails with the reader's reason
    assert str(raised.value) == EMPTY_FILE


# --- (d) onboarding end to end -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_network_onboards_from_the_suggested_spec(acme, tmp_path):
    # given the unknown export and the spec suggested for it, confirmed as it is
    path = tmp_path / "kroger.csv"
    spend_total = write_kroger_export(path)
    suggested = suggest_for(path, tmp_path)["spec"]

    with schema_context("acme"):
        # when the file is ingested with that spec
        result = ingest_file(path=path, file_name=path.name, actor="test",
                             options=IngestOptions(spec_document=suggested))

        # then every row loaded and spend equals the file's own sum to the cent
        summary = result.to_dict()
        assert (summary["rows_read"], summary["rows_loaded"], summary["rows_rejected"]) == (KROGER_ROWS,
                                                                                             KROGER_ROWS, 0)
        assert summary["totals"]["spend"] == str(spend_total)
        rows = RMISEvent.objects.filter(batch_id=result.batch.pk)
        assert rows.aggregate(spend=Sum("spend"))["spend"] == spend_total
        assert set(rows.values_list("network", "attribution_window_days").distinct()) == {("kroger", 14)}


# --- (e) value profiles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "profile"), [
    ("$1,234.50", {"kind": "money", "share": 1.0, "fits": {"money": 1.0}, "currency": "USD"}),
    ("1,204", {"kind": "count", "share": 1.0, "fits": {"count": 1.0, "money": 1.0, "decimal": 1.0}}),
    ("2.57%", {"kind": "percent", "share": 1.0, "fits": {"percent": 1.0}}),
    ("Sep 01, 2026", {"kind": "date", "share": 1.0, "fits": {"date": 1.0}, "format": "%b %d, %Y"}),
    ("45566", {"kind": "date", "share": 1.0, "fits": {"date": 1.0, "count": 1.0, "money": 1.0, "decimal": 1.0},
               "format": "excel_serial"}),
    ("036000291452", {"kind": "gtin_like", "share": 1.0,
                      "fits": {"gtin_like": 1.0, "id_like": 1.0, "money": 1.0, "decimal": 1.0}}),
    ("B0ABCDEF12", {"kind": "asin_like", "share": 1.0, "fits": {"asin_like": 1.0}}),
    ("b116da0c-9734-4cc9-ae12-990a69247a71", {"kind": "id_like", "share": 1.0, "fits": {"id_like": 1.0}}),
    ("Acme | Cereal | Search", {"kind": "text", "share": 1.0, "fits": {"text": 1.0}}),
])
def test_profile_of_one_value(value, profile):
    # when a column holding one value is profiled
    # then its kind is what the value looks like
    assert profile_column([value]) == {**profile, "examples": [value], "empty_share": 0.0}


def test_profile_counts_empty_values_and_mixed_columns():
    # given a mostly numeric column with a blank and a stray word
    values = ["12", "", "7", "n/a"]

    # when it is profiled
    profile = profile_column(values)

    # then empties are counted apart and the kind is what most values fit
    assert profile == {"kind": "count", "share": 0.667, "examples": ["12", "7", "n/a"], "empty_share": 0.25,
                       "fits": {"count": 0.667, "money": 0.667, "decimal": 0.667, "text": 0.333}}


def test_five_digit_numbers_spread_over_years_are_counts_not_excel_dates():
    # given impressions that happen to have five digits
    values = ["12000", "45566", "61000"]

    # when they are profiled
    profile = profile_column(values)

    # then they are counts: dates in one report do not span decades
    assert (profile["kind"], profile["fits"].get("date")) == ("count", None)


def test_dates_read_with_the_format_most_values_use():
    # given a date column mostly in one format
    values = ["2025-10-01", "2025-10-02", "2025-10-03T00:00:00", "10/04/2025"]

    # when it is profiled
    profile = profile_column(values)

    # then it is a date column in ISO format, every value fitting some format
    assert (profile["kind"], profile["share"], profile["format"]) == ("date", 1.0, "%Y-%m-%d")


def test_suggest_spec_profiles_beyond_the_readers_sample(tmp_path):
    # given a column whose first 20 values are blank and the rest are dates
    rows = [["", "1"]] * 20 + [["2025-10-01", "2"]] * 30
    source = SourceFile(kind="json", encoding="utf-8", headers=["When", "Clicks"], rows=rows, sample=rows[:20])

    # when a spec is suggested from 500 rows
    result = suggest_spec(source, name="late-dates", network="custom")

    # then the profile saw the dates past the sample and the value-only rule mapped them
    when = result["columns"][0]
    assert (when["field"], when["profile"]["kind"], when["profile"]["empty_share"]) == ("date", "date", 0.4)
