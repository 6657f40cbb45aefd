"""Header constants and text formatting for the demo report files (money is integer cents until written).

Headers are copied from RMN_FORMATS.md exactly, trailing spaces and casing drift included.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from campaigns.demo.catalog import cents_text

AMAZON_SELLER_TITLE = "Sponsored Products Search term report"
AMAZON_SELLER_HEADER = (
    "Date,Portfolio name,Currency,Campaign Name,Ad Group Name,Targeting,Match Type,Customer Search Term,Impressions,"
    "Clicks,Click-Thru Rate (CTR),Cost Per Click (CPC),Spend,7 Day Total Sales ,Total Advertising Cost of Sales (ACOS) "
    ",Total Return on Advertising Spend (ROAS),7 Day Total Orders (#),7 Day Total Units (#),7 Day Conversion Rate,"
    "7 Day Advertised SKU Units (#),7 Day Other SKU Units (#),7 Day Advertised SKU Sales ,7 Day Other SKU Sales "
).split(",")
AMAZON_VENDOR_NEW_HEADER = (
    ["Start Date", "End Date"]
    + AMAZON_SELLER_HEADER[1:5]
    + ["Retailer", "Country"]
    + [h.replace("7 Day", "14 Day") for h in AMAZON_SELLER_HEADER[5:]]
)
WALMART_UI_DOC_HEADER = (
    "Date,Campaign Name,Campaign Id,Ad Group Name,Ad Group Id,Item Name,Item Id,Searched Keyword,Bidded Keyword,"
    "Match Type,Impressions,Clicks,CTR,Ad Spend,Conversion Rate (Units Sold Based),Orders,"
    "Conversion Rate (Orders Based),Total Attributed Sales,Advertised SKU Sales,Other SKU Sales,Units Sold,"
    "Advertised SKU Units (#),Other SKU Units (#),RoAS"
).split(",")
# Casing drifts between Ad Center downloads; this one has two drifted columns.
_WALMART_DRIFT = {"Ad Spend": "Ad spend", "Total Attributed Sales": "Total attributed sales"}
WALMART_UI_HEADER = [_WALMART_DRIFT.get(h, h) for h in WALMART_UI_DOC_HEADER]
WALMART_API_WINDOWS = (3, 14, 30)
WALMART_API_HEADER = [
    "date", "campaignId", "adGroupId", "itemId", "itemName", "numAdsShown", "numAdsClicks", "adSpend"
] + [
    f"{metric}{w}days"
    for w in WALMART_API_WINDOWS
    for metric in ("attributedOrders", "attributedSales", "advertisedSkuSales", "otherSkuSales", "unitsSold")
]  # fmt: skip
INSTACART_V3_HEADER = (
    "event.date,product.status,campaign.name,ad_group.name,product.name,product.size,product.scan_code,event.spend,"
    "event.attributed_sales_linear,event.attributed_units_linear,event.roas_linear,event.impressions,event.clicks,"
    "event.ctr,event.cpc,event.ntb_attributed_sales_linear,event.percent_ntb_sales_linear,product.id,campaign.id,"
    "ad_group.id"
).split(",")
INSTACART_LEGACY_HEADER = (
    "date,status,campaign,ad_group,product,product_size,upc,spend,attributed_sales,attributed_quantities,roas,"
    "impressions,clicks,ctr,average_cpc,ntb_attributed_sales,percent_ntb_attributed_sales,id,campaign_uuid,"
    "ad_group_uuid"
).split(",")
CRITEO_HEADER = (
    "date,campaignId,campaignName,advProductId,advProductName,brandName,pageTypeName,environment,keyword,"
    "salesChannel,retailerId,retailerName,impressions,clicks,spend,attributedSales,attributedUnits,attributedOrders,"
    "ctr,cpc,cpo,cpm,roas"
).split(",")
CATALOG_HEADER = (
    "gtin,upc,asin,walmart_item_id,megamart_product_id,brand,name,category,size,list_price,unit_cost".split(",")
)
SALES_HEADER = "date,gtin,retailer,region,units,revenue,on_hand".split(",")
MEGAMART_RETAILER_ID = "1187"


def cents_expr(column: str) -> pl.Expr:
    """Integer cents as '12.34' inside polars, for the big plain files."""
    col = pl.col(column)
    return (col // 100).cast(pl.String) + "." + (col % 100).cast(pl.String).str.zfill(2)


def ad_totals(impressions, clicks, spend_cents, sales_cents) -> dict[str, str]:
    return {
        "impressions": str(int(np.sum(impressions))),
        "clicks": str(int(np.sum(clicks))),
        "spend": cents_text(int(np.sum(spend_cents))),
        "attributed_sales": cents_text(int(np.sum(sales_cents))),
    }


def plain(cents: np.ndarray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def usd(cents: np.ndarray) -> list[str]:
    return [f"${c // 100:,}.{c % 100:02d}" for c in cents.tolist()]


def grouped(counts: np.ndarray) -> list[str]:
    return [f"{n:,}" for n in counts.tolist()]


def ints(counts: np.ndarray) -> list[str]:
    return [str(n) for n in counts.tolist()]


def ratio(num: np.ndarray, den: np.ndarray, fmt: str, *, scale: float = 1.0, blank_if_zero: bool = False) -> list:
    out = []
    for n, d in zip(num.tolist(), den.tolist(), strict=True):
        out.append("" if d == 0 and blank_if_zero else format(n * scale / d if d else 0.0, fmt))
    return out


def write_csv(
    path: Path,
    header: Sequence[str],
    columns: list[list[str]],
    *,
    encoding: str = "utf-8",
    title: str | None = None,
    lineterminator: str = "\r\n",
    compress: bool = False,
) -> None:
    buffer = io.StringIO(newline="")
    if title is not None:
        buffer.write(title + lineterminator)
    writer = csv.writer(buffer, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))
    data = buffer.getvalue().encode(encoding)
    if compress:  # mtime and name fixed so the same seed gives the same bytes
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


def pick(mask: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, day) pairs where mask holds within days [lo, hi), ordered by day then row."""
    window = np.zeros_like(mask)
    window[:, lo:hi] = mask[:, lo:hi]
    days, rows = np.nonzero(window.T)
    return rows, days


def date_texts(dates: list[dt.date], days: np.ndarray, fmt: Callable[[dt.date], str]) -> list[str]:
    text = [fmt(d) for d in dates]
    return [text[d] for d in days.tolist()]
