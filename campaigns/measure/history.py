"""What a geo design reads from RMIS: daily sales per region at one retailer, as a regions × days matrix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection

METRICS = {"revenue": "revenue", "units": "units"}


@dataclass(frozen=True)
class RegionalSales:
    regions: list[str]
    dates: list[dt.date]
    values: np.ndarray  # regions × days; a day without a row is 0 (nothing sold there that day)


def known_retailers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT retailer FROM campaigns_rmissalesfact ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def sales_span(retailer: str) -> tuple[dt.date, dt.date] | None:
    """First and last day with sales data at the retailer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(date), MAX(date) FROM campaigns_rmissalesfact WHERE retailer = %s", [retailer])
        low, high = cursor.fetchone()
    return (low, high) if low else None


def regional_sales(*, retailer: str, metric: str, date_from: dt.date, date_to: dt.date,
                   gtins: list[str] | None = None) -> RegionalSales:
    column = METRICS[metric]  # a fixed column name, never user text
    where = "retailer = %s AND date BETWEEN %s AND %s" + (" AND gtin14 = ANY(%s)" if gtins else "")
    params: list = [retailer, date_from, date_to] + ([gtins] if gtins else [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(NULLIF(region, ''), '(none)'), date, SUM({column})::float8 "  # noqa: S608
            f"FROM campaigns_rmissalesfact WHERE {where} GROUP BY 1, 2",
            params,
        )
        rows = cursor.fetchall()
    days = (date_to - date_from).days + 1
    dates = [date_from + dt.timedelta(days=i) for i in range(days)]
    regions = sorted({region for region, _, _ in rows})
    index = {region: i for i, region in enumerate(regions)}
    values = np.zeros((len(regions), days))
    for region, date, value in rows:
        values[index[region], (date - date_from).days] = value
    return RegionalSales(regions, dates, values)
