"""Score a budget allocation against the demo's known truth: the true incremental sales and margin of any spend
per cell, the oracle plan (the optimum under the true curves) and the naive "split by last period's ROAS" rule.
The optimizer's accuracy tests and the planning benchmark use these."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl

from campaigns.optimize.curves import Curve

# The demo's retailer networks as RMIS names them: MegaMart's exports come from its Criteo-powered network.
RMIS_NETWORK = {"megamart": "criteo"}


def truth_curves(truth: dict, cells: list[dict]) -> dict[str, Curve]:
    """The true daily incremental-sales curve of each plan cell (`Plan.cells` entries: id, and show.campaign /
    show.gtin14 / path), matched by network, campaign (id or name) and product (GTIN, or the ad group naming it)."""
    known = {}
    for cell in truth["cells"]:
        network = RMIS_NETWORK.get(cell["network"], cell["network"])
        curve = Curve("hill", cell["curve"]["vmax"], cell["curve"]["h"], cell["curve"]["k"])
        ids = cell.get("identifiers", {})
        campaigns = {ids.get(key) for key in ("campaign_id", "campaign_name", "campaign")} - {None}
        products = {cell["gtin"], ids.get("ad_group_name")} - {None}
        for campaign in campaigns:
            for product in products:
                known[(network, campaign, product)] = curve
    out = {}
    for cell in cells:
        network, product = cell["path"][1], cell["path"][-1]
        curve = known.get((network, cell["show"]["campaign"], product))
        if curve is not None:
            out[cell["id"]] = curve
    return out


def true_margin(spend: Mapping[str, Decimal | float], curves: Mapping[str, Curve], margin_rates: Mapping[str, float],
                days: int) -> float:
    """Σ margin_rate · (true incremental sales over `days` at an even daily spend) − spend."""
    total = 0.0
    for cell_id, amount in spend.items():
        amount = float(amount)
        curve = curves.get(cell_id)
        sales = days * curve.value(amount / days) if curve is not None and amount > 0 else 0.0
        total += margin_rates.get(cell_id, 0.0) * sales - amount
    return total


def roas_split(budget: float, recent: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """The naive rule: the budget split across cells in proportion to last period's attributed ROAS
    (`recent` maps cell → (spend, attributed sales)); cells without spend get nothing."""
    roas = {cell: sales / spend for cell, (spend, sales) in recent.items() if spend > 0 and sales > 0}
    total = sum(roas.values())
    return {cell: budget * value / total for cell, value in roas.items()} if total else {}



def measured_incrementality(curves: Mapping[str, Curve], days: pl.DataFrame) -> dict[str, float]:
    """What a perfect lift test per campaign would read out: true incremental sales at the spend that ran, over the
    sales the network reported for it (`days`: plans.history.cell_days rows), as plan-request overrides keyed
    network|placement|campaign. It differs from the generator's incrementality wherever the report itself bends
    the credit (Instacart's linear credit, view-through, other-SKU halo)."""
    incremental: dict[str, float] = {}
    reported: dict[str, float] = {}
    for cell, network, placement, campaign, spend, sales in days.select(
            "cell", "network", "placement", "campaign", "spend", "sales").iter_rows():
        curve = curves.get(cell)
        if curve is None:
            continue
        key = f"{network}|{placement}|{campaign}"
        incremental[key] = incremental.get(key, 0.0) + curve.value(spend)
        reported[key] = reported.get(key, 0.0) + sales
    return {key: min(1.0, incremental[key] / reported[key]) for key in incremental if reported[key] > 0}
