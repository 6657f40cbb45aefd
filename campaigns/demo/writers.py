"""The demo's report files, each in its network's real layout with the quirks the harmonizer must absorb.

Money is carried as integer cents up to the moment it is formatted, so file totals are exact to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from campaigns.demo import formats as fm
from campaigns.demo.ads import AdSim
from campaigns.demo.catalog import BRAND, Sku, cents_text
from campaigns.demo.formats import (
    AMAZON_SELLER_HEADER,
    AMAZON_SELLER_TITLE,
    AMAZON_VENDOR_NEW_HEADER,
    CATALOG_HEADER,
    CRITEO_HEADER,
    INSTACART_LEGACY_HEADER,
    INSTACART_V3_HEADER,
    MEGAMART_RETAILER_ID,
    WALMART_API_HEADER,
    WALMART_API_WINDOWS,
    WALMART_UI_HEADER,
)


@dataclass
class Written:
    """What the manifest says about one file: rows, dates and totals computed from the written values."""

    rows: int
    first_date: dt.date | None
    last_date: dt.date | None
    totals: dict[str, str]


def _written(dates, days, totals) -> Written:
    if len(days) == 0:
        return Written(0, None, None, totals)
    return Written(len(days), dates[int(days.min())], dates[int(days.max())], totals)


def _per_row_sku(sim: AdSim, rows: np.ndarray, attr: Callable[[Sku], str]) -> list[str]:
    values = [attr(s) for s in sim.cells.skus]
    return [values[c] for c in sim.row_cell[rows].tolist()]


def write_amazon(
    path: Path,
    sim: AdSim,
    counts: tuple[np.ndarray, np.ndarray, np.ndarray],
    lo: int,
    hi: int,
    *,
    layout: str,
) -> Written:
    """Console search-term report: `seller` (title row, BOM, 7-day, "Sep 01, 2026") or `vendor_new` (14-day, ISO)."""
    orders_a, extra_a, other_a = counts
    rows, days = fm.pick(sim.clicks > 0, lo, hi)  # the console only lists search terms that got a click
    at = (rows, days)
    impressions, clicks, spend = sim.impressions[at], sim.clicks[at], sim.spend_cents[at]
    orders, extra, other = orders_a[at], extra_a[at], other_a[at]
    adv_units = orders + extra
    adv_sales = adv_units * sim.price_cents[rows]
    other_sales = other * sim.other_price_cents[rows]
    sales = adv_sales + other_sales
    total_orders = orders + other
    cpc = np.rint(spend / np.maximum(clicks, 1)).astype(np.int64)
    label = sim.label
    if layout == "seller":
        head = [fm.date_texts(sim.dates, days, lambda d: d.strftime("%b %d, %Y"))]
        header, title, encoding = AMAZON_SELLER_HEADER, AMAZON_SELLER_TITLE, "utf-8-sig"
    else:
        iso = fm.date_texts(sim.dates, days, dt.date.isoformat)
        head = [iso, iso]
        header, title, encoding = AMAZON_VENDOR_NEW_HEADER, None, "utf-8"
    ids = [label(n)[rows].tolist() for n in ("portfolio",)] + [["USD"] * len(rows)]
    ids += [label(n)[rows].tolist() for n in ("campaign", "ad_group")]
    if layout != "seller":
        ids += [["Amazon"] * len(rows), ["US"] * len(rows)]
    columns = head + ids + [label(n)[rows].tolist() for n in ("targeting", "match", "term")]
    columns += [
        fm.grouped(impressions),
        fm.grouped(clicks),
        fm.ratio(clicks, impressions, ".2%"),
        fm.usd(cpc),
        fm.usd(spend),
        fm.usd(sales),
        fm.ratio(spend, sales, ".2%", blank_if_zero=True),
        fm.ratio(sales, spend, ".2f"),
        fm.grouped(total_orders),
        fm.grouped(adv_units + other),
        fm.ratio(total_orders, clicks, ".2%"),
        fm.grouped(adv_units),
        fm.grouped(other),
        fm.usd(adv_sales),
        fm.usd(other_sales),
    ]
    fm.write_csv(path, header, columns, encoding=encoding, title=title)
    return _written(sim.dates, days, fm.ad_totals(impressions, clicks, spend, sales))


def write_walmart_ui(path: Path, sim: AdSim, lo: int, hi: int) -> Written:
    """Ad Center download: keyword grain, MM/DD/YYYY dates, plain numbers, percentages without the sign."""
    rows, days = fm.pick(sim.impressions > 0, lo, hi)
    at = (rows, days)
    impressions, clicks, spend = sim.impressions[at], sim.clicks[at], sim.spend_cents[at]
    orders, other = sim.orders[at], sim.other_units[at]
    adv_units = orders + sim.extra_units[at]
    adv_sales = adv_units * sim.price_cents[rows]
    other_sales = other * sim.other_price_cents[rows]
    sales = adv_sales + other_sales
    units = adv_units + other
    label = sim.label
    columns = [
        fm.date_texts(sim.dates, days, lambda d: d.strftime("%m/%d/%Y")),
        *[label(n)[rows].tolist() for n in ("campaign", "campaign_id", "ad_group", "ad_group_id")],
        _per_row_sku(sim, rows, lambda s: f"{s.name}, {s.size}"),
        _per_row_sku(sim, rows, lambda s: s.walmart_item_id),
        *[label(n)[rows].tolist() for n in ("searched", "bidded", "match")],
        fm.ints(impressions),
        fm.ints(clicks),
        fm.ratio(clicks, impressions, ".2f", scale=100),
        fm.plain(spend),
        fm.ratio(units, clicks, ".2f", scale=100),
        fm.ints(orders + other),
        fm.ratio(orders + other, clicks, ".2f", scale=100),
        fm.plain(sales),
        fm.plain(adv_sales),
        fm.plain(other_sales),
        fm.ints(units),
        fm.ints(adv_units),
        fm.ints(other),
        fm.ratio(sales, spend, ".2f"),
    ]
    fm.write_csv(path, WALMART_UI_HEADER, columns)
    return _written(sim.dates, days, fm.ad_totals(impressions, clicks, spend, sales))


def _by_cell(sim: AdSim, values: np.ndarray) -> np.ndarray:
    out = np.zeros((len(sim.cells), values.shape[1]), dtype=values.dtype)
    np.add.at(out, sim.row_cell, values)
    return out


def write_walmart_api(path: Path, sim: AdSim, windows: dict, lo: int, hi: int) -> Written:
    """API snapshot: item grain (keywords summed), ISO dates, 3/14/30-day columns side by side, gzip."""
    impressions_c = _by_cell(sim, sim.impressions)
    cells, days = fm.pick(impressions_c > 0, lo, hi)
    at = (cells, days)
    first_row = np.array([int(np.flatnonzero(sim.row_cell == c)[0]) for c in range(len(sim.cells))])
    price = sim.price_cents[first_row][cells]
    other_price = sim.other_price_cents[first_row][cells]
    label = sim.label
    columns = [
        fm.date_texts(sim.dates, days, dt.date.isoformat),
        label("campaign_id")[first_row][cells].tolist(),
        label("ad_group_id")[first_row][cells].tolist(),
        [sim.cells.skus[c].walmart_item_id for c in cells.tolist()],
        [f"{sim.cells.skus[c].name}, {sim.cells.skus[c].size}" for c in cells.tolist()],
        fm.ints(impressions_c[at]),
        fm.ints(_by_cell(sim, sim.clicks)[at]),
        fm.plain(_by_cell(sim, sim.spend_cents)[at]),
    ]
    sales14 = None
    for w in WALMART_API_WINDOWS:
        orders, extra, other = (_by_cell(sim, a)[at] for a in windows[w])
        adv_sales = (orders + extra) * price
        other_sales = other * other_price
        columns += [
            fm.ints(orders + other),
            fm.plain(adv_sales + other_sales),
            fm.plain(adv_sales),
            fm.plain(other_sales),
        ]
        columns.append(fm.ints(orders + extra + other))
        if w == 14:
            sales14 = adv_sales + other_sales
    fm.write_csv(path, WALMART_API_HEADER, columns, lineterminator="\n", compress=True)
    totals = fm.ad_totals(impressions_c[at], _by_cell(sim, sim.clicks)[at], _by_cell(sim, sim.spend_cents)[at], sales14)
    return _written(sim.dates, days, totals)


def write_instacart(path: Path, sim: AdSim, linear: dict, lo: int, hi: int, *, legacy: bool) -> Written:
    """v3 (dotted header, ISO, UTF-8) or legacy (cp1252, percentages with a sign); linear units are fractional."""
    rows, days = fm.pick(sim.impressions > 0, lo, hi)
    at = (rows, days)
    impressions, clicks, spend = sim.impressions[at], sim.clicks[at], sim.spend_cents[at]
    sales, ntb, units_centi = linear["sales"][at], linear["ntb_sales"][at], linear["units_centi"][at]
    cpc = np.rint(spend / np.maximum(clicks, 1)).astype(np.int64)
    label = sim.label
    pct_fmt = ".2%" if legacy else ".4f"
    columns = [
        fm.date_texts(sim.dates, days, dt.date.isoformat),
        ["enabled" if legacy else "active"] * len(rows),
        label("campaign")[rows].tolist(),
        label("ad_group")[rows].tolist(),
        _per_row_sku(sim, rows, lambda s: s.name),
        _per_row_sku(sim, rows, lambda s: s.size),
        _per_row_sku(sim, rows, lambda s: s.upc),
        fm.plain(spend),
        fm.plain(sales),
        fm.plain(units_centi),
        fm.ratio(sales, spend, ".2f", blank_if_zero=True),
        fm.ints(impressions),
        fm.ints(clicks),
        fm.ratio(clicks, impressions, pct_fmt),
        fm.plain(cpc),
        fm.plain(ntb),
        fm.ratio(ntb, sales, pct_fmt),
        _per_row_sku(sim, rows, lambda s: s.instacart_product_id),
        label("campaign_id")[rows].tolist(),
        label("ad_group_id")[rows].tolist(),
    ]
    header = INSTACART_LEGACY_HEADER if legacy else INSTACART_V3_HEADER
    encoding, terminator = ("cp1252", "\r\n") if legacy else ("utf-8", "\n")
    fm.write_csv(path, header, columns, encoding=encoding, lineterminator=terminator)
    return _written(sim.dates, days, fm.ad_totals(impressions, clicks, spend, sales))


def criteo_columns(sim: AdSim, conv: tuple, lo: int, hi: int) -> tuple[dict[str, object], np.ndarray, dict]:
    """Criteo rows (any delivery or any credited conversion) as typed columns shared by the CSV and XLSX."""
    orders_a, extra_a, other_a = conv
    sales_a = (orders_a + extra_a) * sim.price_cents[:, None] + other_a * sim.other_price_cents[:, None]
    rows, days = fm.pick((sim.impressions > 0) | (sales_a > 0), lo, hi)
    at = (rows, days)
    label = sim.label
    metrics = {
        "impressions": sim.impressions[at],
        "clicks": sim.clicks[at],
        "spend": sim.spend_cents[at],
        "attributedSales": sales_a[at],
        "attributedUnits": (orders_a + extra_a + other_a)[at],
        "attributedOrders": (orders_a + other_a)[at],
    }
    dims = {
        "campaignId": label("campaign_id")[rows].tolist(),
        "campaignName": label("campaign")[rows].tolist(),
        "advProductId": _per_row_sku(sim, rows, lambda s: s.megamart_product_id),
        "advProductName": _per_row_sku(sim, rows, lambda s: s.name),
        "brandName": [BRAND] * len(rows),
        "pageTypeName": [sim.cells.placements[c].name for c in sim.row_cell[rows].tolist()],
        "environment": label("environment")[rows].tolist(),
        "keyword": label("keyword")[rows].tolist(),
        "salesChannel": ["Online"] * len(rows),
        "retailerId": [MEGAMART_RETAILER_ID] * len(rows),
        "retailerName": ["MegaMart"] * len(rows),
    }
    totals = fm.ad_totals(metrics["impressions"], metrics["clicks"], metrics["spend"], metrics["attributedSales"])
    return dims | metrics, days, totals


def write_criteo_csv(path: Path, sim: AdSim, conv: tuple, lo: int, hi: int) -> Written:
    cols, days, totals = criteo_columns(sim, conv, lo, hi)
    m = {k: cols[k] for k in ("impressions", "clicks", "spend", "attributedSales", "attributedOrders")}
    columns = [fm.date_texts(sim.dates, days, dt.date.isoformat)]
    columns += [cols[h] for h in CRITEO_HEADER[1:12]]
    columns += [fm.ints(m["impressions"]), fm.ints(m["clicks"]), fm.plain(m["spend"]), fm.plain(m["attributedSales"])]
    columns += [fm.ints(cols["attributedUnits"]), fm.ints(m["attributedOrders"])]
    columns += [
        fm.ratio(m["clicks"], m["impressions"], ".4f", blank_if_zero=True),
        fm.ratio(m["spend"], m["clicks"], ".2f", scale=0.01, blank_if_zero=True),
        fm.ratio(m["spend"], m["attributedOrders"], ".2f", scale=0.01, blank_if_zero=True),
        fm.ratio(m["spend"], m["impressions"], ".2f", scale=10.0, blank_if_zero=True),
        fm.ratio(m["attributedSales"], m["spend"], ".2f", blank_if_zero=True),
    ]
    fm.write_csv(path, CRITEO_HEADER, columns, lineterminator="\n")
    return _written(sim.dates, days, totals)


def write_criteo_xlsx(path: Path, sim: AdSim, conv: tuple, lo: int, hi: int) -> Written:
    """The same report pulled as Excel for one month: a title row, real date cells, numbers as numbers."""
    import xlsxwriter

    cols, days, totals = criteo_columns(sim, conv, lo, hi)
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    # A fixed creation time keeps the bytes reproducible for a seed.
    workbook.set_properties(
        {"title": "Retail Media report", "author": "MegaMart", "created": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    )
    sheet = workbook.add_worksheet("Report")
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    money_fmt = workbook.add_format({"num_format": "#,##0.00"})
    month = sim.dates[lo].strftime("%B %Y")
    sheet.write_string(0, 0, f"MegaMart Retail Media - {BRAND} - {month} - attribution 30d click / 1d view")
    for j, name in enumerate(CRITEO_HEADER):
        sheet.write_string(1, j, name)
    for i, d in enumerate(days.tolist()):
        r = i + 2
        sheet.write_datetime(r, 0, dt.datetime.combine(sim.dates[d], dt.time()), date_fmt)
        for j, name in enumerate(CRITEO_HEADER[1:12], start=1):
            sheet.write_string(r, j, cols[name][i])
        imp, clk = int(cols["impressions"][i]), int(cols["clicks"][i])
        spend, sales = int(cols["spend"][i]), int(cols["attributedSales"][i])
        orders = int(cols["attributedOrders"][i])
        sheet.write_number(r, 12, imp)
        sheet.write_number(r, 13, clk)
        sheet.write_number(r, 14, spend / 100, money_fmt)
        sheet.write_number(r, 15, sales / 100, money_fmt)
        sheet.write_number(r, 16, int(cols["attributedUnits"][i]))
        sheet.write_number(r, 17, orders)
        for j, value in enumerate(
            (
                round(clk / imp, 4) if imp else None,
                round(spend / 100 / clk, 2) if clk else None,
                round(spend / 100 / orders, 2) if orders else None,
                round(spend * 10 / imp, 2) if imp else None,
                round(sales / spend, 2) if spend else None,
            ),
            start=18,
        ):
            if value is not None:
                sheet.write_number(r, j, value)
    workbook.close()
    return _written(sim.dates, days, totals)


def write_catalog(path: Path, skus: list[Sku]) -> Written:
    columns = [
        [s.gtin for s in skus],
        [s.upc for s in skus],
        [s.asin for s in skus],
        [s.walmart_item_id for s in skus],
        [s.megamart_product_id for s in skus],
        [BRAND] * len(skus),
        [s.name for s in skus],
        [s.category for s in skus],
        [s.size for s in skus],
        [cents_text(s.list_price_cents) for s in skus],
        [cents_text(s.unit_cost_cents) for s in skus],
    ]
    fm.write_csv(path, CATALOG_HEADER, columns, lineterminator="\n")
    return Written(len(skus), None, None, {})


def write_sales_inventory(path: Path, sales, dates: list[dt.date]) -> Written:
    n_series, n_days = sales.units.shape
    day = np.repeat(np.arange(n_days), n_series)
    series = np.tile(np.arange(n_series), n_days)
    revenue = sales.revenue_cents.T.ravel()
    frame = pl.DataFrame(
        {
            "date": np.array([d.isoformat() for d in dates])[day],
            "gtin": np.array([s.gtin for s in sales.sku])[series],
            "retailer": np.array(sales.retailer)[series],
            "region": np.array(sales.region)[series],
            "units": sales.units.T.ravel(),
            "revenue": revenue,
            "on_hand": sales.on_hand.T.ravel(),
        }
    ).with_columns(revenue=fm.cents_expr("revenue"))
    frame.write_csv(path)
    totals = {"units": str(int(sales.units.sum())), "revenue": cents_text(int(revenue.sum()))}
    return Written(len(frame), dates[0], dates[-1], totals)
