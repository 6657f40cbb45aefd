"""Daily sell-through and on-hand inventory per SKU x retailer x region: baseline demand plus the ads' true lift.

Stores are replenished on a cycle; a few series miss deliveries and run dry, so sales are capped by stock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from campaigns.demo.catalog import REGIONS, RETAILER_REGIONS, RETAILERS, Sku, cents_text
from campaigns.demo.truth import demand_multiplier

_POPULATION = dict(zip(REGIONS, (0.14, 0.17, 0.15, 0.08, 0.16, 0.06, 0.12, 0.12), strict=True))
_REGION_SKEW = {
    "amazon": {},
    "walmart": {"US-SE": 1.3, "US-TX": 1.3, "US-MW": 1.2, "US-SW": 1.1, "US-NE": 0.7, "US-W": 0.8, "US-MA": 0.8},
    "instacart": {"US-NE": 1.3, "US-W": 1.3, "US-MA": 1.2, "US-NW": 1.1, "US-SE": 0.8, "US-MW": 0.8, "US-TX": 0.8},
    "megamart": {"US-MW": 1.4, "US-SE": 0.9, "US-TX": 0.8},
}
_UNITS_PER_DAY = {"amazon": 30.0, "walmart": 55.0, "instacart": 12.0, "megamart": 10.0}  # national, popularity 1
_CYCLES = np.array([7, 10, 14])


def region_weights(retailer: str) -> dict[str, float]:
    raw = {r: _POPULATION[r] * _REGION_SKEW[retailer].get(r, 1.0) for r in RETAILER_REGIONS[retailer]}
    total = sum(raw.values())
    return {r: v / total for r, v in raw.items()}


@dataclass
class SalesSim:
    retailer: list[str]  # per series
    sku: list[Sku]
    region: list[str]
    units: np.ndarray  # [series, days]
    revenue_cents: np.ndarray
    on_hand: np.ndarray
    baselines: list[dict]
    stockouts: list[dict]
    replenishment: dict


def simulate_sales(
    rng: np.random.Generator,
    skus: list[Sku],
    dates: list[dt.date],
    incremental_sales: dict[str, np.ndarray],
    attributed_sales: dict[str, np.ndarray],
) -> SalesSim:
    """`incremental_sales`/`attributed_sales`: per retailer, [sku, day] USD from ads (true lift / credited)."""
    n_days = len(dates)
    retailers, series_skus, regions, expected, baselines = [], [], [], [], []
    for retailer in RETAILERS:
        weights = region_weights(retailer)
        for sku in skus:
            price = sku.retail_price_cents(retailer) / 100
            credited_units = attributed_sales[retailer][sku.index].mean() / price
            # Baseline must cover the non-incremental part of what the ads claim, and then some.
            national = max(sku.popularity * _UNITS_PER_DAY[retailer] * np.exp(rng.normal(0, 0.3)), 3 * credited_units)
            seasonal = demand_multiplier(dates, retailer, sku.category)
            lift_units = incremental_sales[retailer][sku.index] / price
            for region, w in weights.items():
                retailers.append(retailer)
                series_skus.append(sku)
                regions.append(region)
                expected.append(national * w * seasonal + lift_units * w)
                baselines.append(
                    {
                        "gtin": sku.gtin,
                        "retailer": retailer,
                        "region": region,
                        "base_units_per_day": round(national * w, 4),
                    }
                )
    expected_arr = np.array(expected)
    demand = rng.poisson(expected_arr)
    n_series = len(retailers)

    cycle = rng.choice(_CYCLES, n_series)
    phase = rng.integers(0, cycle)
    delivery = (np.arange(n_days)[None, :] - phase[:, None]) % cycle[:, None] == 0
    # Order-up-to level: cover the cycle plus two days of lead time, with a safety margin for Poisson noise.
    horizon = cycle + 2
    cum = np.concatenate([np.zeros((n_series, 1)), np.cumsum(expected_arr, axis=1)], axis=1)
    padded = np.concatenate([cum, np.repeat(cum[:, -1:], 15, axis=1)], axis=1)
    cover = padded[np.arange(n_series)[:, None], np.arange(n_days)[None, :] + horizon[:, None]] - cum[:, :-1]
    order_up_to = np.ceil(1.3 * cover + 3 * np.sqrt(cover) + 2).astype(np.int64)

    skip, injected = _disruptions(rng, delivery, cycle, expected_arr)
    on_hand = np.empty((n_series, n_days), dtype=np.int64)
    sold = np.empty_like(on_hand)
    stock = order_up_to[:, 0].copy()
    for d in range(n_days):
        arrives = delivery[:, d] & ~skip[:, d]
        stock = np.where(arrives, np.maximum(stock, order_up_to[:, d]), stock)
        sold[:, d] = np.minimum(demand[:, d], stock)
        stock = stock - sold[:, d]
        on_hand[:, d] = stock
    price = np.array([s.retail_price_cents(r) for s, r in zip(series_skus, retailers, strict=True)])
    stockouts = _stockout_runs(on_hand, demand - sold, dates, retailers, series_skus, regions, injected)
    return SalesSim(
        retailer=retailers,
        sku=series_skus,
        region=regions,
        units=sold,
        revenue_cents=sold * price[:, None],
        on_hand=on_hand,
        baselines=baselines,
        stockouts=stockouts,
        replenishment={
            "policy": "order-up-to on a fixed cycle (7, 10 or 14 days); level = 1.3*E[demand over cycle+2 days]"
            " + 3*sqrt(that) + 2; disrupted series miss one or two deliveries"
        },
    )


def _disruptions(
    rng: np.random.Generator, delivery: np.ndarray, cycle: np.ndarray, expected: np.ndarray
) -> tuple[np.ndarray, set[int]]:
    """Missed deliveries for a few high-volume series, which is what makes them run out."""
    n_series, n_days = delivery.shape
    skip = np.zeros_like(delivery)
    volume = expected.mean(axis=1)
    candidates = np.flatnonzero(volume >= np.quantile(volume, 0.5))
    count = min(len(candidates), max(3, round(n_series * 0.005)))
    chosen = rng.choice(candidates, count, replace=False)
    for s in chosen:
        days = np.flatnonzero(delivery[s, int(n_days * 0.15) : int(n_days * 0.65)]) + int(n_days * 0.15)
        if len(days) == 0:
            continue
        first = int(rng.choice(days))
        missed = 1 if cycle[s] == 14 else 2
        for j in range(1, missed + 1):
            day = first + j * int(cycle[s])
            if day < n_days:
                skip[s, day] = True
    return skip, {int(s) for s in chosen}


def _stockout_runs(on_hand, unmet, dates, retailers, skus, regions, injected) -> list[dict]:
    runs = []
    for s, d in zip(*np.nonzero((on_hand == 0) & ~np.pad(on_hand == 0, ((0, 0), (1, 0)))[:, :-1]), strict=True):
        end = d
        while end + 1 < on_hand.shape[1] and on_hand[s, end + 1] == 0:
            end += 1
        runs.append(
            {
                "gtin": skus[s].gtin,
                "retailer": retailers[s],
                "region": regions[s],
                "first_day_at_zero": dates[d].isoformat(),
                "last_day_at_zero": dates[end].isoformat(),
                "days_at_zero": int(end - d + 1),
                "lost_units": int(unmet[s, d : end + 1].sum()),
                "lost_revenue": cents_text(int(unmet[s, d : end + 1].sum()) * skus[s].retail_price_cents(retailers[s])),
                "cause": "missed deliveries" if s in injected else "demand spike",
            }
        )
    return sorted(runs, key=lambda r: (r["first_day_at_zero"], r["gtin"], r["retailer"], r["region"]))
