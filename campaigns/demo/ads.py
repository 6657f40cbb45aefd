"""Row-level ad delivery for the demo: how each program splits a cell into report rows, and what each row shows.

Spend per row comes first; a cell's true incremental sales are its Hill curve at the summed written spend.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import numpy as np

from campaigns.demo.catalog import CATEGORIES, Sku
from campaigns.demo.truth import Cells, calibrate_vmax, hill, spend_plan

UNITS_PER_ORDER = 1.25
INSTACART_CREDIT_MEAN = 4 / 6  # mean of the Beta(4, 2) linear credit per row
GENERIC_QUERIES = {
    "cereal": ["healthy cereal", "oat cereal", "breakfast cereal", "granola", "kids cereal", "high fiber cereal"],
    "snacks": ["tortilla chips", "healthy snacks", "snack bars", "potato chips", "crackers", "popcorn"],
    "beverages": ["sparkling water", "cold brew coffee", "juice", "electrolyte drink", "oat milk", "iced tea"],
    "frozen": ["frozen pizza", "frozen meals", "ice cream", "frozen fruit", "chicken nuggets", "frozen breakfast"],
    "pantry": ["pasta sauce", "olive oil", "pasta", "peanut butter", "canned soup", "rice"],
}
AMAZON_BROWSE_NODE = {
    "cereal": "Cold Cereals",
    "snacks": "Chips & Crisps",
    "beverages": "Bottled Beverages, Water & Drink Mixes",
    "frozen": "Frozen Foods",
    "pantry": "Pantry Staples",
}
_AMAZON_STRATEGY = {
    "Top of search (first page)": "Exact",
    "Rest of search": "Broad",
    "Product pages": "Product Targeting",
}
CRITEO_LAGS = np.array([0, 1, 2, 3, 5, 7, 10, 14, 21, 28])
CRITEO_LAG_P = np.array([0.55, 0.12, 0.07, 0.05, 0.05, 0.05, 0.04, 0.03, 0.02, 0.02])


@dataclass
class Layout:
    """Report rows of a program: the cell each belongs to, its share of the cell, and its label columns."""

    cell: np.ndarray
    weight: np.ndarray
    ctr_mult: np.ndarray
    labels: dict[str, list[str]]


@dataclass
class AdSim:
    cells: Cells
    layout: Layout
    dates: list[dt.date]
    impressions: np.ndarray  # [rows, days] int
    clicks: np.ndarray
    spend_cents: np.ndarray
    cell_spend_cents: np.ndarray  # [cells, days]
    incremental: np.ndarray  # [cells, days] USD, the truth
    attributed_expected: np.ndarray  # [cells, days] USD, incremental / incrementality x daily noise
    orders_lambda: np.ndarray  # [rows, days] expected advertised-SKU orders
    other_lambda: np.ndarray
    orders: np.ndarray
    extra_units: np.ndarray  # units beyond one per order
    other_units: np.ndarray
    price_cents: np.ndarray  # per row
    other_price_cents: np.ndarray  # per row

    @property
    def row_cell(self) -> np.ndarray:
        return self.layout.cell

    def label(self, name: str) -> np.ndarray:
        return np.array(self.layout.labels[name], dtype=object)


def _uuid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _campaign_ids(rng: np.random.Generator, keys: list[tuple], digits: int) -> dict[tuple, str]:
    values = rng.choice(9 * 10 ** (digits - 1), size=len(keys), replace=False) + 10 ** (digits - 1)
    return {key: str(int(v)) for key, v in zip(keys, values, strict=True)}


def build_layout(rng: np.random.Generator, cells: Cells) -> Layout:
    """Rows per cell in the program's report grain, with stable labels; fills cells.identifiers for truth."""
    key = cells.program.key
    placements = [p.name for p in cells.program.placements]
    campaign_keys = [(cat, p) for cat in CATEGORIES for p in placements]
    rows: list[tuple[int, float, float, dict]] = []
    if key.startswith("amazon"):
        suffix = " - 1P" if key == "amazon_vendor" else ""
        for c, (sku, placement) in enumerate(zip(cells.skus, cells.placements, strict=True)):
            cat = sku.category.capitalize()
            base = {
                "portfolio": "Acme Foods 1P" if suffix else f"Acme Foods - {cat}",
                "campaign": f"SP - {cat} - {_AMAZON_STRATEGY[placement.name]}{suffix}",
                "ad_group": sku.short_name,
            }
            cells.identifiers.append({"campaign_name": base["campaign"], "ad_group_name": base["ad_group"]})
            if placement.name == "Top of search (first page)":
                term = f"acme {sku.short_name.lower()}"
                weights = rng.dirichlet([6, 2])
                for t, search in enumerate((term, f"acme foods {sku.short_name.lower()}")):
                    rows.append((c, weights[t], 1.0, {**base, "targeting": term, "match": "EXACT", "term": search}))
            elif placement.name == "Rest of search":
                queries = list(rng.choice(GENERIC_QUERIES[sku.category], 2, replace=False))
                weights = rng.dirichlet([3, 2])
                for t, search in enumerate(queries):
                    labels = {**base, "targeting": queries[0], "match": "BROAD", "term": str(search)}
                    rows.append((c, weights[t], rng.uniform(0.6, 1.2), labels))
            else:
                target = f'category="{AMAZON_BROWSE_NODE[sku.category]}"'
                rows.append((c, 1.0, 1.0, {**base, "targeting": target, "match": "-", "term": "*"}))
    elif key == "walmart":
        campaign_ids = _campaign_ids(rng, campaign_keys, 6)
        ad_group_ids = _campaign_ids(rng, campaign_keys, 7)
        for c, (sku, placement) in enumerate(zip(cells.skus, cells.placements, strict=True)):
            cat = sku.category.capitalize()
            ck = (sku.category, placement.name)
            base = {
                "campaign": f"Acme | {cat} | {placement.name}",
                "campaign_id": campaign_ids[ck],
                "ad_group": f"{cat} - {placement.name}",
                "ad_group_id": ad_group_ids[ck],
            }
            cells.identifiers.append(
                {k: base[k] for k in ("campaign", "campaign_id", "ad_group", "ad_group_id")}
                | {"item_id": sku.walmart_item_id}
            )
            if placement.name == "Item Buybox":
                rows.append((c, 1.0, 1.0, {**base, "searched": "", "bidded": "", "match": ""}))
                continue
            branded = f"acme {sku.short_name.lower()}"
            generic = list(rng.choice(GENERIC_QUERIES[sku.category], 2, replace=False))
            weights = rng.dirichlet([3, 4])
            rows.append((c, weights[0], 1.4, {**base, "searched": branded, "bidded": branded, "match": "exact"}))
            labels = {**base, "searched": f"{generic[1]} {generic[0]}", "bidded": str(generic[0]), "match": "broad"}
            rows.append((c, weights[1], 0.8, labels))
    elif key == "instacart":
        campaign_ids = {ck: _uuid(rng) for ck in campaign_keys}
        ad_group_ids = {ck: _uuid(rng) for ck in campaign_keys}
        for c, (sku, placement) in enumerate(zip(cells.skus, cells.placements, strict=True)):
            cat = sku.category.capitalize()
            ck = (sku.category, placement.name)
            labels = {
                "campaign": f"Acme {cat} - {placement.context}",
                "campaign_id": campaign_ids[ck],
                "ad_group": f"{placement.name} {placement.context} - {cat}",
                "ad_group_id": ad_group_ids[ck],
            }
            cells.identifiers.append(dict(labels) | {"product_id": sku.instacart_product_id})
            rows.append((c, 1.0, 1.0, labels))
    else:  # megamart on Criteo
        campaign_ids = _campaign_ids(rng, campaign_keys, 6)
        for c, (sku, placement) in enumerate(zip(cells.skus, cells.placements, strict=True)):
            ck = (sku.category, placement.name)
            base = {"campaign": f"Acme Foods | {sku.category.capitalize()} | {placement.name}"}
            base["campaign_id"] = campaign_ids[ck]
            cells.identifiers.append(
                {"campaign_name": base["campaign"], "campaign_id": base["campaign_id"]}
                | {"adv_product_id": sku.megamart_product_id, "page_type_name": placement.name}
            )
            keywords = [""]
            if placement.name == "Search":
                keywords = [f"acme {sku.short_name.lower()}", str(rng.choice(GENERIC_QUERIES[sku.category]))]
            env_weights = rng.dirichlet([5, 4])
            kw_weights = rng.dirichlet([2, 3]) if len(keywords) == 2 else [1.0]
            for kw, kw_w in zip(keywords, kw_weights, strict=True):
                for env, env_w in zip(("Web", "App"), env_weights, strict=True):
                    rows.append((c, kw_w * env_w, 1.0, {**base, "keyword": kw, "environment": env}))
    names = list(rows[0][3])
    return Layout(
        cell=np.array([r[0] for r in rows]),
        weight=np.array([r[1] for r in rows], dtype=float),
        ctr_mult=np.array([r[2] for r in rows], dtype=float),
        labels={name: [r[3][name] for r in rows] for name in names},
    )


def _other_price(skus: list[Sku], sku: Sku, retailer: str) -> int:
    """What an 'other SKU' halo purchase is worth: the mean shelf price of the SKU's category siblings."""
    siblings = [s for s in skus if s.category == sku.category and s is not sku] or [sku]
    return round(sum(s.retail_price_cents(retailer) for s in siblings) / len(siblings))


def _sum_rows(values: np.ndarray, row_cell: np.ndarray, n_cells: int) -> np.ndarray:
    out = np.zeros((n_cells, values.shape[1]), dtype=values.dtype)
    np.add.at(out, row_cell, values)
    return out


def simulate(
    rng: np.random.Generator, cells: Cells, layout: Layout, dates: list[dt.date], all_skus: list[Sku]
) -> AdSim:
    program = cells.program
    n_cells, n_days, n_rows = len(cells), len(dates), len(layout.cell)
    rc = layout.cell
    target = spend_plan(rng, cells, dates)
    row_target = target[rc] * layout.weight[:, None] * np.exp(rng.normal(-0.02, 0.2, (n_rows, n_days)))
    cpc = np.array([p.cpc for p in cells.placements])[rc][:, None] * np.exp(rng.normal(0.0, 0.08, (n_rows, n_days)))
    ctr_mean = np.array([p.ctr for p in cells.placements])[rc] * layout.ctr_mult
    ctr = np.minimum(ctr_mean[:, None] * np.exp(rng.normal(0.0, 0.1, (n_rows, n_days))), 0.5)
    impressions = rng.poisson(row_target / cpc / ctr)
    clicks = rng.binomial(impressions, ctr)
    spend_cents = np.rint(clicks * cpc * 100).astype(np.int64)

    cell_spend = _sum_rows(spend_cents, rc, n_cells)
    calibrate_vmax(cells, cell_spend / 100)
    incremental = hill(cell_spend / 100, cells.vmax[:, None], cells.k[:, None], cells.h[:, None])
    sigma = 0.25
    attributed = (
        incremental / cells.incrementality[:, None] * np.exp(rng.normal(-(sigma**2) / 2, sigma, incremental.shape))
    )

    cell_clicks = _sum_rows(clicks, rc, n_cells)[rc]
    cell_impr = _sum_rows(impressions, rc, n_cells)[rc]
    with np.errstate(divide="ignore", invalid="ignore"):
        click_share = np.where(cell_clicks > 0, clicks / np.maximum(cell_clicks, 1), 0.0)
        impr_share = np.where(cell_impr > 0, impressions / np.maximum(cell_impr, 1), 0.0)
    share = (1 - program.view_share) * click_share + program.view_share * impr_share
    row_attr = attributed[rc] * share

    retailer = program.retailer
    price = np.array([s.retail_price_cents(retailer) for s in cells.skus])[rc]
    other_price = np.array([_other_price(all_skus, s, retailer) for s in cells.skus])[rc]
    scale = 1.0 / INSTACART_CREDIT_MEAN if program.key == "instacart" else 1.0
    o = program.other_sku_share
    orders_lambda = row_attr * scale * (1 - o) / (price[:, None] / 100 * UNITS_PER_ORDER)
    other_lambda = row_attr * scale * o / (other_price[:, None] / 100)
    orders = rng.poisson(orders_lambda)
    return AdSim(
        cells=cells,
        layout=layout,
        dates=dates,
        impressions=impressions,
        clicks=clicks,
        spend_cents=spend_cents,
        cell_spend_cents=cell_spend,
        incremental=incremental,
        attributed_expected=attributed,
        orders_lambda=orders_lambda,
        other_lambda=other_lambda,
        orders=orders,
        extra_units=rng.poisson(orders * (UNITS_PER_ORDER - 1)),
        other_units=rng.poisson(other_lambda),
        price_cents=price,
        other_price_cents=other_price,
    )


# --- program-specific attribution quirks ---------------------------------------------------------------------


def sales_cents(sim: AdSim, orders: np.ndarray, extra: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, ...]:
    """(advertised units, advertised sales, other-SKU sales) in cents."""
    units = orders + extra
    return units, units * sim.price_cents[:, None], other * sim.other_price_cents[:, None]


def amazon_restatement(rng: np.random.Generator, sim: AdSim, last_days: int) -> tuple[np.ndarray, ...]:
    """Late-arriving conversions for the last `last_days` days: (orders, extra units, other units) to add.

    Younger days gain more (up to ~8%), as Amazon keeps crediting clicks for the attribution window and restates.
    """
    n_days = len(sim.dates)
    age = np.arange(n_days)[::-1]
    rate = np.where(age < last_days, 0.02 + 0.06 * (1 - age / last_days), 0.0)
    add_orders = rng.poisson(sim.orders_lambda * rate)
    add_extra = rng.poisson(add_orders * (UNITS_PER_ORDER - 1))
    add_other = rng.poisson(sim.other_lambda * rate)
    return add_orders, add_extra, add_other


def walmart_windows(rng: np.random.Generator, sim: AdSim) -> dict[int, tuple[np.ndarray, ...]]:
    """(orders, extra units, other units) per window; 3-day thins the 14-day counts and 30-day adds to them."""
    o14, e14, x14 = sim.orders, sim.extra_units, sim.other_units
    o3, e3, x3 = rng.binomial(o14, 0.78), rng.binomial(e14, 0.78), rng.binomial(x14, 0.70)
    late = rng.poisson(sim.orders_lambda * 0.09)
    o30 = o14 + late
    e30 = e14 + rng.poisson(late * (UNITS_PER_ORDER - 1))
    x30 = x14 + rng.poisson(sim.other_lambda * 0.10)
    return {3: (o3, e3, x3), 14: (o14, e14, x14), 30: (o30, e30, x30)}


def instacart_linear(rng: np.random.Generator, sim: AdSim) -> dict[str, np.ndarray]:
    """Linear multi-touch: each row gets a fraction of its conversions, so units are fractional."""
    credit = rng.beta(4, 2, sim.orders.shape)
    units = sim.orders + sim.extra_units
    sales = np.rint(units * sim.price_cents[:, None] * credit).astype(np.int64)
    ntb = np.rint(sales * rng.uniform(0.15, 0.55, sales.shape)).astype(np.int64)
    return {"units_centi": np.rint(units * credit * 100).astype(np.int64), "sales": sales, "ntb_sales": ntb}


def criteo_conversion_dates(rng: np.random.Generator, sim: AdSim) -> tuple[np.ndarray, ...]:
    """Move conversions from the ad date to the conversion date; those past the last day are not in the report."""
    n_days = len(sim.dates)

    def shift(counts: np.ndarray) -> np.ndarray:
        parts = rng.multinomial(counts.ravel(), CRITEO_LAG_P).reshape(*counts.shape, len(CRITEO_LAGS))
        out = np.zeros_like(counts)
        for j, lag in enumerate(CRITEO_LAGS):
            if lag < n_days:
                out[:, lag:] += parts[:, : n_days - lag, j]
        return out

    orders = shift(sim.orders)
    return orders, rng.poisson(orders * (UNITS_PER_ORDER - 1)), shift(sim.other_units)
