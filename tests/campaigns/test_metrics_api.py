"""GET /api/v1/rmis/metrics: sums per group from SQL, exact to the cent, with sales at one attribution window
(read where a file kept that window, else converted by a ratio estimated from the tenant's data or a default)."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.attribution import (
    CLICK_VIEW_TO_CLICK,
    DEFAULT,
    ESTIMATED,
    INVALID_WINDOW,
    Window,
    default_window_ratio,
    window_ratios,
)
from campaigns.harmonize import IngestOptions, ingest_file
from campaigns.models import RMISEvent, RMISSKUDimension
from tests.conftest import api_client_for

OATS, PUFFS = "00012345678905", "00036000291452"
HEADER = "day,campaign,slot,upc,impressions,clicks,spend,sales,orders"


def spec(name: str, network: str, window: int, *, extra_windows: bool = False, scope: str = "click") -> dict:
    document = {
        "name": name, "network": network, "kind": "ad_events", "title": name,
        "attribution": {"window_days": window, "scope": scope, "model": "last_touch"},
        "product_id_type": "gtin",
        "constants": {"currency": "USD"},
        "columns": {
            "date": {"headers": ["day"], "transform": "date"},
            "campaign_id": {"headers": ["campaign"], "transform": "text"},
            "placement_raw": {"headers": ["slot"], "transform": "text"},
            "product_id": {"headers": ["upc"], "transform": "text"},
            "impressions": {"headers": ["impressions"], "transform": "count"},
            "clicks": {"headers": ["clicks"], "transform": "count"},
            "spend": {"headers": ["spend"], "transform": "money"},
            "attributed_sales": {"headers": ["sales"], "transform": "money"},
            "attributed_orders": {"headers": ["orders"], "transform": "count"},
        },
        "placement": {"map": {"tos": "top_of_search", "pdp": "product_page"}},
        "required": ["date", "spend"],
    }
    if extra_windows:
        document["extra_windows"] = {"attributed_sales": {"3": {"headers": ["sales3"], "transform": "money"},
                                                          "30": {"headers": ["sales30"], "transform": "money"}}}
    return document


# testnet: 14-day click, with 3- and 30-day sales kept (like Walmart's API files). Weeks of May 4 and May 11.
TESTNET = ("testnet.csv", spec("test-multiwindow", "testnet", 14, extra_windows=True), HEADER + ",sales3,sales30", [
    "2026-05-04,C1,TOS,012345678905,1000,50,10.00,40.00,4,30.00,44.00",
    "2026-05-05,C1,PDP,012345678905,800,20,5.00,20.00,2,15.00,22.00",
    "2026-05-06,C2,TOS,036000291452,500,10,2.50,10.00,1,8.00,11.00",
    "2026-05-11,C2,PDP,036000291452,600,30,7.50,30.00,3,24.00,33.00",
    "2026-05-12,C1,TOS,036000291452,400,8,2.00,0.00,0,0.00,0.00",
])
# othernet: 7-day click only; no file of this tenant has 7 days next to another window.
OTHERNET = ("othernet.csv", spec("test-sevenday", "othernet", 7), HEADER, [
    "2026-05-04,C9,TOS,012345678905,2000,40,20.00,50.00,5",
    "2026-05-11,C9,TOS,012345678905,1000,10,10.00,20.00,2",
])
# thirdnet: 30-day click only; testnet's rows carry 14 and 30 days side by side, so 30 → 14 is estimated.
THIRDNET = ("thirdnet.csv", spec("test-thirty", "thirdnet", 30), HEADER, [
    "2026-05-05,C7,PDP,036000291452,300,6,3.00,22.00,2",
])


def load(tmp_path: Path, name: str, document: dict, header: str, rows: list[str]) -> int:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    result = ingest_file(path=path, file_name=name, actor="test", options=IngestOptions(spec_document=document))
    assert (result.batch.rows_loaded, result.batch.rows_rejected) == (len(rows), 0)
    return result.batch.pk


@pytest.fixture
def tenant_data(acme, tmp_path):
    """acme holds exactly these files (anything else in its RMIS tables is removed inside the test's transaction)."""
    def _load(*files):
        with schema_context("acme"):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {RMISEvent._meta.db_table}")  # noqa: S608
            RMISSKUDimension.objects.get_or_create(gtin14=OATS, defaults={"name": "Oat Crunch 12 oz"})
            RMISSKUDimension.objects.get_or_create(gtin14=PUFFS, defaults={"name": "Choco Puffs 10 oz"})
            for file in files:
                load(tmp_path, *file)
    return _load


def metrics(tenant, **params) -> dict:
    response = api_client_for(tenant, username="acme-viewer").get("/api/v1/rmis/metrics", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_metrics_by_network_at_14_days(acme, tenant_data):
    # given a 14-day file and a 7-day file
    tenant_data(TESTNET, OTHERNET)

    # when metrics are asked by network at the default window
    body = metrics(acme, group_by="network")

    # then each network's sums are exact, the 7-day sales converted by the default ratio
    assert (body["group_by"], body["window"], body["truncated"]) == (["network"], "14d_click", False)
    assert body["rows"] == [
        {"network": "othernet", "spend": "30.00", "impressions": 3000, "clicks": 50, "sales": "77.00", "orders": "7",
         "roas": "2.57", "cpc": "0.60", "ctr": "0.0167", "cvr": "0.1400", "window": "14d_click", "converted": True,
         "source_windows": ["7d_click"], "conversion": DEFAULT, "rows": 2},
        {"network": "testnet", "spend": "27.00", "impressions": 3300, "clicks": 118, "sales": "100.00",
         "orders": "10", "roas": "3.70", "cpc": "0.23", "ctr": "0.0358", "cvr": "0.0847", "window": "14d_click",
         "converted": False, "source_windows": ["14d_click"], "conversion": None, "rows": 5},
    ]
    assert (body["totals"]["spend"], body["totals"]["sales"], body["totals"]["rows"]) == ("57.00", "177.00", 7)
    assert body["totals"]["conversion"] == DEFAULT
    assert body["conversions"] == [
        {"from": "7d_click", "to": "14d_click", "ratio": "1.1000", "conversion": DEFAULT, "rows": 0},
    ]


def test_metrics_grouped_by_network_and_week(acme, tenant_data):
    tenant_data(TESTNET, OTHERNET)

    body = metrics(acme, group_by="network,week")

    assert [(row["network"], row["week"], row["spend"], row["sales"], row["impressions"], row["clicks"])
            for row in body["rows"]] == [
        ("othernet", "2026-05-04", "20.00", "55.00", 2000, 40),
        ("othernet", "2026-05-11", "10.00", "22.00", 1000, 10),
        ("testnet", "2026-05-04", "17.50", "70.00", 2300, 80),
        ("testnet", "2026-05-11", "9.50", "30.00", 1000, 38),
    ]


def test_metrics_by_placement_and_by_sku_with_names(acme, tenant_data):
    tenant_data(TESTNET)

    by_placement = metrics(acme, group_by="placement")
    by_sku = metrics(acme, group_by="sku", order="spend")

    assert [(row["placement"], row["spend"], row["sales"]) for row in by_placement["rows"]] == [
        ("product_page", "12.50", "50.00"), ("top_of_search", "14.50", "50.00"),
    ]
    assert [(row["sku"], row["sku_name"], row["spend"], row["sales"], row["orders"]) for row in by_sku["rows"]] == [
        (OATS, "Oat Crunch 12 oz", "15.00", "60.00", "6"), (PUFFS, "Choco Puffs 10 oz", "12.00", "40.00", "4"),
    ]


def test_metrics_by_campaign_date_and_month_with_a_date_range(acme, tenant_data):
    tenant_data(TESTNET)

    by_campaign = metrics(acme, group_by="campaign", date_from="2026-05-05", date_to="2026-05-11")
    by_date = metrics(acme, group_by="date", date_from="2026-05-11")
    by_month = metrics(acme, group_by="month,account")

    assert [(row["campaign"], row["campaign_name"], row["spend"], row["rows"]) for row in by_campaign["rows"]] == [
        ("C1", "", "5.00", 1), ("C2", "", "10.00", 2),
    ]
    assert (by_campaign["date_from"], by_campaign["date_to"]) == ("2026-05-05", "2026-05-11")
    assert [(row["date"], row["spend"]) for row in by_date["rows"]] == [("2026-05-11", "7.50"), ("2026-05-12", "2.00")]
    assert [(row["month"], row["account"], row["spend"]) for row in by_month["rows"]] == [("2026-05-01", "", "27.00")]


def test_sales_at_a_window_the_file_kept_are_read_not_converted(acme, tenant_data):
    tenant_data(TESTNET, OTHERNET)

    at_30 = {row["network"]: row for row in metrics(acme, group_by="network", window="30d_click")["rows"]}
    at_3 = {row["network"]: row for row in metrics(acme, group_by="network", window="3d_click")["rows"]}

    # testnet kept 30 and 3 days: its own figures; othernet's 7 days go through the defaults
    assert (at_30["testnet"]["sales"], at_30["testnet"]["converted"], at_30["testnet"]["source_windows"]) == (
        "110.00", False, ["30d_click"])
    assert (at_3["testnet"]["sales"], at_3["testnet"]["converted"]) == ("77.00", False)
    assert default_window_ratio(7, 30) == Decimal("1.195652")
    assert default_window_ratio(7, 3) == Decimal("0.916667")
    assert (at_30["othernet"]["sales"], at_30["othernet"]["conversion"]) == ("83.70", DEFAULT)
    assert (at_3["othernet"]["sales"], at_3["othernet"]["conversion"]) == ("64.17", DEFAULT)


def test_a_window_ratio_is_estimated_from_the_tenants_multi_window_rows(acme, tenant_data):
    # given testnet's rows carrying 14 and 30 days side by side, and a 30-day-only file
    tenant_data(TESTNET, THIRDNET)

    # when
    body = metrics(acme, group_by="network")
    with schema_context("acme"):
        ratios = window_ratios(pairs=[(30, 14), (3, 14), (7, 14)])

    # then 30 → 14 is Σ14 / Σ30 over the rows with both (100 / 110), and 7 → 14 (no such rows) is the default
    assert ratios == {(3, 14): (Decimal("1.298701"), ESTIMATED, 5), (7, 14): (Decimal("1.100000"), DEFAULT, 0),
                      (30, 14): (Decimal("0.909091"), ESTIMATED, 5)}
    thirdnet = next(row for row in body["rows"] if row["network"] == "thirdnet")
    assert (thirdnet["sales"], thirdnet["converted"], thirdnet["source_windows"], thirdnet["conversion"]) == (
        "20.00", True, ["30d_click"], ESTIMATED)
    assert body["conversions"] == [
        {"from": "30d_click", "to": "14d_click", "ratio": "0.9091", "conversion": ESTIMATED, "rows": 5},
    ]


def test_too_few_multi_window_rows_fall_back_to_the_default(acme, tenant_data):
    # given only four rows with 14 and 30 days side by side (five are needed)
    name, document, header, rows = TESTNET
    tenant_data((name, document, header, rows[:4]), THIRDNET)

    with schema_context("acme"):
        assert window_ratios(pairs=[(30, 14)]) == {(30, 14): (Decimal("0.920000"), DEFAULT, 0)}
    thirdnet = next(row for row in metrics(acme, group_by="network")["rows"] if row["network"] == "thirdnet")
    assert (thirdnet["sales"], thirdnet["conversion"]) == ("20.24", DEFAULT)


def test_click_view_scope_converts_by_the_default_factor(acme, tenant_data):
    tenant_data(TESTNET, ("clickview.csv", spec("test-clickview", "cvnet", 14, scope="click_view"), HEADER, [
        "2026-05-04,C5,TOS,012345678905,100,5,1.00,100.00,1",
    ]))

    by_network = {row["network"]: row for row in metrics(acme, group_by="network")["rows"]}
    as_click_view = {row["network"]: row
                     for row in metrics(acme, group_by="network", window="14d_click_view")["rows"]}

    assert CLICK_VIEW_TO_CLICK == Decimal("0.85")
    assert (by_network["cvnet"]["sales"], by_network["cvnet"]["source_windows"], by_network["cvnet"]["conversion"]) \
        == ("85.00", ["14d_click_view"], DEFAULT)
    assert (as_click_view["cvnet"]["sales"], as_click_view["cvnet"]["converted"]) == ("100.00", False)
    # 1 / 0.85 = 1.176471
    assert (as_click_view["testnet"]["sales"], as_click_view["testnet"]["conversion"]) == ("117.65", DEFAULT)


def test_no_data_gives_empty_rows_and_zero_totals(acme, tenant_data):
    tenant_data()

    body = metrics(acme, group_by="network")

    assert body["rows"] == []
    assert (body["totals"]["spend"], body["totals"]["sales"], body["totals"]["rows"], body["totals"]["roas"]) == (
        "0.00", "0.00", 0, None)
    assert body["conversions"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({"group_by": "network,brand"}, "group_by"),
    ({"group_by": ","}, "group_by"),
    ({"date_from": "2026-13-01"}, "date_from"),
    ({"date_to": "yesterday"}, "date_to"),
    ({"date_from": "2026-05-10", "date_to": "2026-05-01"}, "date_from"),
    ({"window": "14d"}, "window"),
    ({"window": "400d_click"}, "window"),
    ({"order": "sales"}, "order"),
])
def test_bad_parameters_are_400_naming_the_field(acme, params, field):
    response = api_client_for(acme, username="acme-viewer").get("/api/v1/rmis/metrics", params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["details"])) == ("invalid", [field])
    if field == "window":
        assert error["details"]["window"] == [INVALID_WINDOW]
    if params.get("group_by") == "network,brand":
        assert error["details"]["group_by"] == [
            "Unknown group brand; group by any of: network, account, placement, campaign, sku, date, week, month."]


def test_window_labels_parse_and_print_the_same():
    assert Window.parse("14d_click_view") == Window(days=14, scope="click_view")
    assert Window.parse("7d_click").label == "7d_click"
