"""Generate a year of Acme Foods retail-media exports, sales and inventory from a known truth (truth.json).

Usage: python -m campaigns.demo.generate OUT_DIR [--seed N] [--days N] [--skus N] [--start YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from campaigns.demo import ads, writers
from campaigns.demo.catalog import BRAND, REGIONS, RETAILERS, build_skus, cents_text, sku_truth
from campaigns.demo.formats import cents_expr
from campaigns.demo.inventory import region_weights, simulate_sales
from campaigns.demo.readme import readme_text
from campaigns.demo.truth import HILL_FORMULA, PROGRAMS, build_cells, calendar_truth

RESTATED_DAYS = 14
MIN_DAYS = 28
# file name -> (format name, program, date format as written, encoding, attributed-sales column)
FILES = {
    "amazon_sp_search_term_seller.csv": (
        "amazon_sp_search_term_console_seller", "amazon_seller", "%b %d, %Y", "utf-8-sig", "7 Day Total Sales ",
    ),
    "amazon_sp_search_term_vendor_new.csv": (
        "amazon_sp_search_term_console_vendor_new_layout", "amazon_vendor", "%Y-%m-%d", "utf-8", "14 Day Total Sales ",
    ),
    "walmart_ui_download.csv": (
        "walmart_sponsored_search_ui_download", "walmart", "%m/%d/%Y", "utf-8", "Total attributed sales",
    ),
    "walmart_api_snapshot.csv.gz": (
        "walmart_sponsored_search_api_snapshot", "walmart", "%Y-%m-%d", "utf-8 (gzip)", "attributedSales14days",
    ),
    "instacart_v3.csv": ("instacart_ads_api_v3_csv", "instacart", "%Y-%m-%d", "utf-8", "event.attributed_sales_linear"),
    "instacart_legacy.csv": ("instacart_ads_legacy_csv", "instacart", "%Y-%m-%d", "cp1252", "attributed_sales"),
    "megamart_criteo.csv": ("criteo_retail_media_report_csv", "megamart", "%Y-%m-%d", "utf-8", "attributedSales"),
    "megamart_criteo.xlsx": (
        "criteo_retail_media_report_xlsx", "megamart", "Excel date cells", "xlsx", "attributedSales",
    ),
    "restated/amazon_sp_search_term_seller_restated.csv": (
        "amazon_sp_search_term_console_seller", "amazon_seller", "%b %d, %Y", "utf-8-sig", "7 Day Total Sales ",
    ),
    "catalog.csv": ("acme_catalog", None, None, "utf-8", None),
    "sales_inventory.csv": ("acme_sales_inventory", None, "%Y-%m-%d", "utf-8", None),
}  # fmt: skip


def _month_split(dates: list[dt.date], fraction: float) -> int:
    """Index of the month start nearest to `fraction` of the run (a clean cut-over between two layouts)."""
    target = round(len(dates) * fraction)
    starts = [i for i, d in enumerate(dates) if d.day == 1 and 0 < i < len(dates)]
    return min(starts, key=lambda i: (abs(i - target), i)) if starts else target


def _in_program(program_key: str, sku) -> bool:
    if program_key.startswith("amazon"):
        return sku.amazon_account == program_key.removeprefix("amazon_")
    return sku.on_network(PROGRAMS[program_key].network)


def generate_demo(
    out_dir: Path, *, seed: int = 7, start: dt.date = dt.date(2025, 11, 1), days: int = 365, skus: int = 40
) -> dict:
    """Write the demo exports, truth.json and manifest.json into `out_dir`; return the manifest."""
    if days < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}")
    out_dir = Path(out_dir)
    (out_dir / "restated").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    sku_list = build_skus(rng, skus)

    sims: dict[str, ads.AdSim] = {}
    for key, program in PROGRAMS.items():
        cells = build_cells(rng, program, [s for s in sku_list if _in_program(key, s)])
        sims[key] = ads.simulate(rng, cells, ads.build_layout(rng, cells), dates, sku_list)
    restated_add = ads.amazon_restatement(rng, sims["amazon_seller"], RESTATED_DAYS)
    windows = ads.walmart_windows(rng, sims["walmart"])
    linear = ads.instacart_linear(rng, sims["instacart"])
    conversions = ads.criteo_conversion_dates(rng, sims["megamart"])

    incremental = {r: np.zeros((len(sku_list), days)) for r in RETAILERS}
    credited = {r: np.zeros((len(sku_list), days)) for r in RETAILERS}
    for sim in sims.values():
        index = np.array([s.index for s in sim.cells.skus])
        np.add.at(incremental[sim.cells.program.retailer], index, sim.incremental)
        np.add.at(credited[sim.cells.program.retailer], index, sim.attributed_expected)
    sales = simulate_sales(rng, sku_list, dates, incremental, credited)

    n = days
    walmart_cut = _month_split(dates, 0.5)
    instacart_cut = _month_split(dates, 5 / 12)
    last = dates[-1]
    xlsx_cut = next(i for i, d in enumerate(dates) if d >= dt.date(last.year, last.month, 1)) or n // 2
    seller, vendor = sims["amazon_seller"], sims["amazon_vendor"]
    seller_final = tuple(
        a + b for a, b in zip((seller.orders, seller.extra_units, seller.other_units), restated_add, strict=True)
    )
    seller_initial = (seller.orders, seller.extra_units, seller.other_units)
    vendor_counts = (vendor.orders, vendor.extra_units, vendor.other_units)
    w = writers
    written = {
        "amazon_sp_search_term_seller.csv": lambda p: w.write_amazon(p, seller, seller_initial, 0, n, layout="seller"),
        "amazon_sp_search_term_vendor_new.csv": lambda p: w.write_amazon(p, vendor, vendor_counts, 0, n, layout="new"),
        "walmart_ui_download.csv": lambda p: w.write_walmart_ui(p, sims["walmart"], 0, walmart_cut),
        "walmart_api_snapshot.csv.gz": lambda p: w.write_walmart_api(p, sims["walmart"], windows, walmart_cut, n),
        "instacart_v3.csv": lambda p: w.write_instacart(p, sims["instacart"], linear, instacart_cut, n, legacy=False),
        "instacart_legacy.csv": lambda p: w.write_instacart(
            p, sims["instacart"], linear, 0, instacart_cut, legacy=True
        ),
        "megamart_criteo.csv": lambda p: w.write_criteo_csv(p, sims["megamart"], conversions, 0, xlsx_cut),
        "megamart_criteo.xlsx": lambda p: w.write_criteo_xlsx(p, sims["megamart"], conversions, xlsx_cut, n),
        "restated/amazon_sp_search_term_seller_restated.csv": lambda p: w.write_amazon(
            p, seller, seller_final, n - RESTATED_DAYS, n, layout="seller"
        ),
        "catalog.csv": lambda p: w.write_catalog(p, sku_list),
        "sales_inventory.csv": lambda p: w.write_sales_inventory(p, sales, dates),
    }
    manifest_files = []
    for name, write in written.items():
        result = write(out_dir / name)
        fmt, program, date_format, encoding, sales_column = FILES[name]
        entry = {
            "file": name,
            "format": fmt,
            "rows": result.rows,
            "first_date": result.first_date.isoformat() if result.first_date else None,
            "last_date": result.last_date.isoformat() if result.last_date else None,
            "date_format": date_format,
            "encoding": encoding,
            "totals": result.totals,
        }
        if program:
            entry |= {"program": program, "attribution": PROGRAMS[program].attribution}
            entry["attributed_sales_column"] = sales_column
        manifest_files.append(entry)

    truth = _truth(seed, dates, sku_list, sims, sales, walmart_cut, instacart_cut, xlsx_cut)
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "truth_daily.csv.gz").write_bytes(gzip.compress(_truth_daily(sims, dates), mtime=0))
    manifest = {
        "brand": BRAND,
        "seed": seed,
        "start": dates[0].isoformat(),
        "end": dates[-1].isoformat(),
        "days": days,
        "skus": skus,
        "files": manifest_files,
        "truth": ["truth.json", "truth_daily.csv.gz"],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (out_dir / "README.txt").write_text(readme_text(manifest), encoding="utf-8")
    return manifest


def _truth(seed, dates, sku_list, sims, sales, walmart_cut, instacart_cut, xlsx_cut) -> dict:
    files_of = {
        "amazon_seller": ["amazon_sp_search_term_seller.csv", "restated/amazon_sp_search_term_seller_restated.csv"],
        "amazon_vendor": ["amazon_sp_search_term_vendor_new.csv"],
        "walmart": ["walmart_ui_download.csv", "walmart_api_snapshot.csv.gz"],
        "instacart": ["instacart_legacy.csv", "instacart_v3.csv"],
        "megamart": ["megamart_criteo.csv", "megamart_criteo.xlsx"],
    }
    cells = []
    for key, sim in sims.items():
        c = sim.cells
        for i in range(len(c)):
            cells.append(
                {
                    "cell_id": c.cell_id(i),
                    "program": key,
                    "network": c.program.network,
                    "placement": c.placements[i].name,
                    "context": c.placements[i].context or None,
                    "gtin": c.skus[i].gtin,
                    "curve": {"form": "hill", "vmax": float(c.vmax[i]), "k": float(c.k[i]), "h": float(c.h[i])},
                    "incrementality": c.placements[i].incrementality,
                    "attribution": c.program.attribution,
                    "files": files_of[key],
                    "identifiers": c.identifiers[i],
                    "totals": {
                        "spend": cents_text(int(sim.cell_spend_cents[i].sum())),
                        "incremental_sales": round(float(sim.incremental[i].sum()), 4),
                        "attributed_sales_expected": round(float(sim.attributed_expected[i].sum()), 4),
                        "incremental_roas": round(float(c.target_iroas[i]), 6),
                    },
                }
            )
    return {
        "seed": seed,
        "brand": BRAND,
        "start": dates[0].isoformat(),
        "end": dates[-1].isoformat(),
        "curve_formula": HILL_FORMULA,
        "curve_units": "s = the cell's spend per day in USD as written (summed over its report rows); "
        "incr = true incremental sales per day in USD at the retailer; attributed ~ incr / incrementality x noise",
        "skus": [sku_truth(s) for s in sku_list],
        "programs": {
            key: {
                "network": p.network,
                "retailer": p.retailer,
                "attribution": p.attribution,
                "placements": [
                    {"placement": pl_.name, "context": pl_.context or None, "incrementality": pl_.incrementality}
                    for pl_ in p.placements
                ],
                "files": files_of[key],
            }
            for key, p in PROGRAMS.items()
        },
        "cells": cells,
        "file_splits": {
            "walmart_ui_download.csv": [dates[0].isoformat(), dates[walmart_cut - 1].isoformat()],
            "walmart_api_snapshot.csv.gz": [dates[walmart_cut].isoformat(), dates[-1].isoformat()],
            "instacart_legacy.csv": [dates[0].isoformat(), dates[instacart_cut - 1].isoformat()],
            "instacart_v3.csv": [dates[instacart_cut].isoformat(), dates[-1].isoformat()],
            "megamart_criteo.csv": [dates[0].isoformat(), dates[xlsx_cut - 1].isoformat()],
            "megamart_criteo.xlsx": [dates[xlsx_cut].isoformat(), dates[-1].isoformat()],
            "restated/amazon_sp_search_term_seller_restated.csv": [
                dates[-RESTATED_DAYS].isoformat(),
                dates[-1].isoformat(),
            ],
        },
        "quirks": {
            "amazon_restatement": f"the last {RESTATED_DAYS} days of the seller file are immature; the restated "
            "file holds the final values (2-8% more conversions, youngest days most) and must replace them",
            "megamart_conversion_lag_days": dict(
                zip(map(str, ads.CRITEO_LAGS.tolist()), ads.CRITEO_LAG_P.tolist(), strict=True)
            ),
            "instacart_linear_credit": "each row is credited a Beta(4,2) share of its conversions",
        },
        "sales": {
            "regions": list(REGIONS),
            "region_weights": {r: region_weights(r) for r in RETAILERS},
            "calendar": calendar_truth(),
            "baseline_demand": "E[units] = base_units_per_day x annual x weekly x holiday + incremental units x "
            "region weight; units sold = min(Poisson demand, on hand)",
            "regional_baselines": sales.baselines,
            "replenishment": sales.replenishment,
        },
        "stockouts": sales.stockouts,
    }


def _truth_daily(sims: dict[str, ads.AdSim], dates: list[dt.date]) -> bytes:
    frames = []
    for sim in sims.values():
        c = len(sim.cells)
        frames.append(
            pl.DataFrame(
                {
                    "date": np.tile(np.array([d.isoformat() for d in dates]), c),
                    "cell_id": np.repeat(np.array([sim.cells.cell_id(i) for i in range(c)]), len(dates)),
                    "spend": sim.cell_spend_cents.ravel(),
                    "incremental_sales": np.round(sim.incremental.ravel(), 4),
                    "attributed_sales_expected": np.round(sim.attributed_expected.ravel(), 4),
                }
            )
        )
    buffer = io.BytesIO()
    pl.concat(frames).with_columns(spend=cents_expr("spend")).sort(["date", "cell_id"]).write_csv(
        buffer, float_precision=4
    )
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaigns.demo.generate", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--skus", type=int, default=40)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2025, 11, 1))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    manifest = generate_demo(args.out_dir, seed=args.seed, start=args.start, days=args.days, skus=args.skus)
    for entry in manifest["files"]:
        sys.stdout.write(f"{entry['file']}: {entry['rows']} rows {entry['first_date']}..{entry['last_date']}\n")
    sys.stdout.write(f"wrote {args.out_dir} in {time.perf_counter() - began:.1f}s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
