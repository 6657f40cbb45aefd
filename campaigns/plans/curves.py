"""Fit every cell's daily response curve from RMIS history and keep the posterior as `ResponseCurve` rows.

Observations are (daily spend, daily attributed sales × the cell's incrementality factor) per cell; cells pool
within their network × placement group (see campaigns/optimize/fit.py), so a SKU with a few weeks of data
borrows the shape of its placement's other SKUs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl
from django.db import transaction

from campaigns.optimize.curves import Curve
from campaigns.optimize.fit import MIN_POINTS, fit_cells
from campaigns.plans.history import cell_days
from campaigns.plans.incrementality import Factors
from campaigns.plans.models import ResponseCurve

DRAWS = 100
RECENT_DAYS = 28  # "current spend" is the run rate of the last four weeks of history


@dataclass(frozen=True)
class Skipped:
    cell: str
    reason: str


def refresh_curves(*, history_from: dt.date, history_to: dt.date, networks: list[str] | None, factors: Factors,
                   seed: int = 0) -> tuple[dict[str, ResponseCurve], list[Skipped]]:
    """Refit the cells with data in the window; returns the stored curves and the cells that could not be fitted."""
    days = cell_days(date_from=history_from, date_to=history_to, networks=networks)
    if days.is_empty():
        return {}, []
    per_cell = days.group_by("cell").agg(
        pl.col("network").first(), pl.col("placement").first(), pl.col("campaign").first(),
        pl.col("campaign_name").max(), pl.col("gtin14").first(), pl.col("product").first(),
        pl.col("spend").sum().alias("total_spend"), pl.len().alias("points"),
        pl.col("spend").filter(pl.col("date") > history_to - dt.timedelta(days=RECENT_DAYS)).sum().alias("recent"),
    )
    skipped = [Skipped(row["cell"], "no spend in the history window")
               for row in per_cell.filter(pl.col("total_spend") <= 0).iter_rows(named=True)]
    per_cell = per_cell.filter(pl.col("total_spend") > 0)
    group_points = per_cell.group_by("network", "placement").agg(pl.col("points").sum().alias("group_points"))
    per_cell = per_cell.join(group_points, on=["network", "placement"], how="left")
    thin = per_cell.filter((pl.col("points") < MIN_POINTS) & (pl.col("group_points") - pl.col("points") < MIN_POINTS))
    skipped += [Skipped(row["cell"], f"only {row['points']} days of data and no other SKU in its placement to "
                                     "borrow from") for row in thin.iter_rows(named=True)]
    per_cell = per_cell.filter(~pl.col("cell").is_in(thin.get_column("cell").implode()))
    keep = days.filter(pl.col("cell").is_in(per_cell.get_column("cell").implode()))
    if keep.is_empty():
        return {}, skipped

    meta = {row["cell"]: row for row in per_cell.iter_rows(named=True)}
    resolved = {cell: factors(row["network"], row["placement"], row["campaign"]) for cell, row in meta.items()}
    observations = zip(keep.get_column("cell").to_list(),
                       (keep.get_column("network") + "|" + keep.get_column("placement")).to_list(),
                       keep.get_column("spend").to_list(), keep.get_column("sales").to_list(),
                       keep.get_column("date").dt.epoch("d").to_list(), strict=True)
    fits = fit_cells(observations, form="hill", incrementality={c: f.value for c, f in resolved.items()},
                     rng=np.random.default_rng(seed), draws=DRAWS)
    window = min(RECENT_DAYS, (history_to - history_from).days + 1)
    rows = []
    for cell, fit in fits.items():
        row = meta[cell]
        rows.append(ResponseCurve(
            cell=cell, network=row["network"], placement=row["placement"], campaign=row["campaign"][:300],
            campaign_name=(row["campaign_name"] or "")[:300], gtin14=row["gtin14"] or "",
            product=(row["product"] or "")[:300],
            form=fit.curve.form, vmax=fit.curve.vmax, h=fit.curve.h, k=fit.curve.k,
            samples=[{key: round(value, 6) for key, value in draw.items()} for draw in fit.samples],
            incrementality=resolved[cell].value, incrementality_source=resolved[cell].source[:200],
            n_points=fit.n_points, rmse=fit.rmse, thin=fit.thin, pooled_from=fit.pooled_from or "",
            carryover=fit.carryover,
            history_from=history_from, history_to=history_to,
            mean_daily_spend=Decimal(str(round(row["recent"] / window, 2))),
        ))
    with transaction.atomic():
        ResponseCurve.objects.filter(cell__in=[r.cell for r in rows]).delete()
        ResponseCurve.objects.bulk_create(rows)
    return {r.cell: r for r in rows}, skipped


def daily_curve(stored: ResponseCurve) -> Curve:
    return Curve(stored.form, stored.vmax, stored.h, stored.k)


def flight_curve(curve: Curve | dict, days: int) -> Curve:
    """A per-day curve held for `days` days at an even daily spend: total sales D·f(S/D), which is the same form
    with vmax and h both scaled by D."""
    if isinstance(curve, dict):
        curve = Curve(curve.get("form", "hill"), curve["vmax"], curve["h"], curve.get("k", 1.0))
    return Curve(curve.form, curve.vmax * days, curve.h * days, curve.k)


def spend_for_sales(curve: Curve, sales: float) -> float | None:
    """The spend at which the curve reaches `sales` (None when it never does)."""
    if sales <= 0:
        return 0.0
    if sales >= curve.vmax:
        return None
    if curve.form == "exp":
        return float(-curve.h * np.log1p(-sales / curve.vmax))
    return float(curve.h * (sales / (curve.vmax - sales)) ** (1.0 / curve.k))

