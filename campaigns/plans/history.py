"""What a plan reads from RMIS: daily spend and attributed sales per cell (network × placement × SKU), SKU
economics for margins, and sell-through with on-hand inventory for the stock-out forecasts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from django.db import connection

from campaigns.models import RMISSKUDimension

# A cell is network × placement × campaign × product. Campaign is where budgets are actually set, and it is the
# only trace of placement in exports that report none (Walmart's and Instacart's name it in the campaign). The
# product is the SKU, or — for rows without one, like Amazon's search-term report — the ad group, which names it.


def cell_key(network: str, placement: str, campaign: str, product: str) -> str:
    return f"{network}|{placement}|{campaign}|{product}"


def data_range(networks: list[str] | None = None) -> tuple[dt.date, dt.date] | None:
    """First and last day with ad data (optionally for some networks); None when there is none."""
    where, params = ("WHERE network = ANY(%s)", [networks]) if networks else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(date), MAX(date) FROM campaigns_rmiscampaignday {where}", params)  # noqa: S608
        low, high = cursor.fetchone()
    return (low, high) if low else None


def known_networks() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT network FROM campaigns_rmiscampaignday ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def cell_days(*, date_from: dt.date, date_to: dt.date, networks: list[str] | None = None) -> pl.DataFrame:
    """One row per cell and day: network, placement, campaign (its id, else its name), campaign_name, gtin14 ('' when
    none), product (the GTIN, else the ad group), date, spend, sales (attributed, in each program's own window) and
    the cell key; floats for fitting (money stays Decimal in the plan itself)."""
    where = "date BETWEEN %s AND %s" + (" AND network = ANY(%s)" if networks else "")
    params: list = [date_from, date_to] + ([networks] if networks else [])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT network, placement, COALESCE(NULLIF(campaign_id, ''), campaign_name), "  # noqa: S608
            "MAX(campaign_name), COALESCE(gtin14, ''), COALESCE(gtin14, ad_group_name), date, "
            "SUM(spend)::float8, SUM(attributed_sales)::float8 "
            f"FROM campaigns_rmisevent WHERE {where} GROUP BY 1, 2, 3, 5, 6, 7",
            params,
        )
        rows = cursor.fetchall()
    schema = {"network": pl.Utf8, "placement": pl.Utf8, "campaign": pl.Utf8, "campaign_name": pl.Utf8,
              "gtin14": pl.Utf8, "product": pl.Utf8, "date": pl.Date, "spend": pl.Float64, "sales": pl.Float64}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    key = pl.concat_str([pl.col("network"), pl.col("placement"), pl.col("campaign"), pl.col("product")],
                        separator="|")
    return frame.with_columns(key.alias("cell")).sort("cell", "date")


@dataclass(frozen=True)
class SkuEconomics:
    gtin14: str
    name: str
    price: Decimal | None
    unit_cost: Decimal | None

    @property
    def margin_rate(self) -> float | None:
        """Gross margin per $ of sales, when price and cost are both known."""
        if self.price is None or self.unit_cost is None or self.price <= 0:
            return None
        return float(max(Decimal(0), (self.price - self.unit_cost) / self.price))


def sku_economics(gtins: list[str]) -> dict[str, SkuEconomics]:
    found = RMISSKUDimension.objects.filter(gtin14__in=gtins).values_list("gtin14", "name", "price", "unit_cost")
    return {g: SkuEconomics(g, name, price, cost) for g, name, price, cost in found}


def sales_inventory(*, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Daily units and end-of-day on-hand per SKU × retailer × region (the forecast's input)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date, gtin14, retailer, region, SUM(units)::bigint, SUM(on_hand)::bigint "
            "FROM campaigns_rmissalesfact WHERE date BETWEEN %s AND %s AND gtin14 IS NOT NULL GROUP BY 1, 2, 3, 4",
            [date_from, date_to],
        )
        rows = cursor.fetchall()
    schema = {"date": pl.Date, "gtin14": pl.Utf8, "retailer": pl.Utf8, "region": pl.Utf8, "units": pl.Int64,
              "on_hand": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")
