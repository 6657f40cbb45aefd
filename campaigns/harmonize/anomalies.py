"""Batch-level anomalies: what a careful analyst would flag in a new export against the tenant's own history.

Spikes and drops use a robust z-score per campaign against its own days (the 90 before the file and the
file's own), from the median and MAD, so one odd day does not hide the next and a long file's normal swings
are not flagged. Only the most extreme few are reported. Every anomaly has a severity and a plain message.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import polars as pl
from django.conf import settings
from django.db import connection

from campaigns.models import IngestBatch, Severity

HISTORY_DAYS = 90
MIN_HISTORY_DAYS = 14
Z_WARNING = 6.0
Z_CRITICAL = 12.0
MAX_METRIC_ANOMALIES = 5  # per metric: the worst campaigns; the rest are noise to a reader
METRICS = {"spend": "spend", "roas": "ROAS", "ctr": "CTR"}


def _anomaly(code: str, severity: str, message: str, **details) -> dict:
    return {"code": code, "severity": severity, "message": message, "details": _jsonable(details)}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def load_anomalies(*, duplicates: int, unmatched: Counter, unmapped_placements: Counter, variable_measure: int,
                   rejected: int, read: int, reasons: Counter) -> list[dict]:
    found = []
    if duplicates:
        found.append(_anomaly("duplicate_rows", Severity.WARNING,
                              f"{duplicates:,} rows repeat an earlier row's key (same day, campaign, ad group, "
                              "keyword and product) and were rejected, not double-counted.", count=duplicates))
    if unmatched:
        top = [code for code, _ in unmatched.most_common(10)]
        found.append(_anomaly("unmatched_products", Severity.INFO,
                              f"{len(unmatched):,} product ids ({sum(unmatched.values()):,} rows) match no SKU in "
                              f"the catalog, e.g. {', '.join(top[:3])}. Upload the catalog to link them.",
                              distinct=len(unmatched), rows=sum(unmatched.values()), examples=top))
    if unmapped_placements:
        names = [name for name, _ in unmapped_placements.most_common(10)]
        found.append(_anomaly("unmapped_placements", Severity.INFO,
                              f"Placements not in the taxonomy were loaded as 'other': {', '.join(names)}.",
                              placements=dict(unmapped_placements.most_common(10))))
    if variable_measure:
        found.append(_anomaly("variable_measure_codes", Severity.INFO,
                              f"{variable_measure:,} variable-measure codes (UPC prefix 2 / EAN 20–29) are not "
                              "globally unique: flagged, not matched to products."))
    if rejected:
        top_reasons = ", ".join(f"{code} ({count:,})" for code, count in reasons.most_common(3))
        found.append(_anomaly("rejected_rows", Severity.WARNING if rejected / read > 0.01 else Severity.INFO,
                              f"{rejected:,} of {read:,} rows were rejected: {top_reasons}. Download the rejects "
                              "to see each row and its reasons.", rejected=rejected, reasons=dict(reasons)))
    return found


def event_anomalies(*, batch: IngestBatch, network: str, accounts: list[str], restated: dict, daily: pl.DataFrame,
                    currencies: set[str]) -> list[dict]:
    """`daily` is this batch's per-campaign daily totals and `currencies` its currencies, both gathered while
    loading, so no query has to re-read the rows just written."""
    if batch.date_min is None:
        return []
    found = _restatement(batch, restated)
    found += _currency_change(batch, network, accounts, currencies)
    found += _missing_days(batch, set(daily.get_column("date").to_list()))
    found += _metric_outliers(batch, network, accounts, _with_ratios(daily))
    return found


def _restatement(batch: IngestBatch, restated: dict) -> list[dict]:
    if not restated or not restated.get("rows"):
        return []
    old = Decimal(restated["sales"])
    new = Decimal(batch.totals.get("attributed_sales", "0"))
    change = (new - old) / old if old else None
    threshold = Decimal(str(settings.RMN_RESTATEMENT_THRESHOLD))
    share = f"{change:+.1%}" if change is not None else "from zero"
    message = (f"This file restates {restated['rows']:,} rows loaded earlier: attributed sales {share} "
               f"(${old:,.2f} → ${new:,.2f}). The earlier rows were replaced, not added to.")
    severity = Severity.WARNING if change is None or abs(change) > threshold else Severity.INFO
    return [_anomaly("restatement", severity, message, replaced_rows=restated["rows"], old_sales=old,
                     new_sales=new, old_spend=Decimal(restated["spend"]), change=float(change) if change else None)]


def _currency_change(batch: IngestBatch, network: str, accounts: list[str], now: set[str]) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT currency, MAX(date) FROM campaigns_rmiscampaignday WHERE network = %s AND account = ANY(%s) "
            "AND batch_id <> %s GROUP BY currency", [network, accounts, batch.pk])
        before = {row[0]: row[1] for row in cursor.fetchall()}
    found = []
    if len(now) > 1:
        found.append(_anomaly("mixed_currencies", Severity.CRITICAL,
                              f"This file mixes currencies ({', '.join(sorted(now))}); totals across them are not "
                              "comparable.", currencies=sorted(now)))
    new = now - set(before)
    if before and new:
        found.append(_anomaly("currency_change", Severity.CRITICAL,
                              f"Currency changed: earlier {network} data for this account is in "
                              f"{', '.join(sorted(before))}, this file is in {', '.join(sorted(new))}.",
                              before=sorted(before), now=sorted(now)))
    return found


def _missing_days(batch: IngestBatch, present: set[dt.date]) -> list[dict]:
    span = (batch.date_max - batch.date_min).days + 1
    missing = [batch.date_min + dt.timedelta(days=i) for i in range(span)
               if batch.date_min + dt.timedelta(days=i) not in present]
    if not missing:
        return []
    shown = ", ".join(day.isoformat() for day in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return [_anomaly("missing_days", Severity.WARNING,
                     f"{len(missing)} days between {batch.date_min} and {batch.date_max} have no rows: {shown}{more}.",
                     days=missing[:60], count=len(missing))]


def _daily(where: str, params: list) -> pl.DataFrame:
    # `where` is one of two fixed clauses; values travel as parameters.
    sql = (
        "SELECT campaign_key AS campaign, date, SUM(spend)::float8 AS spend, "  # noqa: S608
        "SUM(attributed_sales)::float8 AS sales, SUM(impressions)::float8 AS impressions, "
        f"SUM(clicks)::float8 AS clicks FROM campaigns_rmiscampaignday WHERE {where} GROUP BY 1, 2"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pl.DataFrame(rows, schema=["campaign", "date", "spend", "sales", "impressions", "clicks"], orient="row")
    return _with_ratios(frame)


def _with_ratios(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.with_columns(pl.col(name).cast(pl.Float64) for name in ("spend", "sales", "impressions", "clicks"))
    return frame.with_columns(
        pl.when(pl.col("spend") > 0).then(pl.col("sales") / pl.col("spend")).alias("roas"),
        pl.when(pl.col("impressions") > 0).then(pl.col("clicks") / pl.col("impressions")).alias("ctr"),
    )


def _metric_outliers(batch: IngestBatch, network: str, accounts: list[str], current: pl.DataFrame) -> list[dict]:
    start = batch.date_min - dt.timedelta(days=HISTORY_DAYS)
    history = _daily("network = %s AND account = ANY(%s) AND batch_id <> %s AND date >= %s AND date < %s",
                     [network, accounts, batch.pk, start, batch.date_min])
    if history.is_empty():
        return []
    found: list[dict] = []
    for metric, label in METRICS.items():
        pooled = pl.concat([history.select("campaign", metric), current.select("campaign", metric)])
        stats = (pooled.drop_nulls(metric).group_by("campaign")
                 .agg(pl.col(metric).median().alias("median"), pl.len().alias("days"),
                      (pl.col(metric) - pl.col(metric).median()).abs().median().alias("mad"))
                 .filter((pl.col("days") >= MIN_HISTORY_DAYS) & (pl.col("mad") > 0)))
        scored = (current.drop_nulls(metric).join(stats, on="campaign")
                  .with_columns((0.6745 * (pl.col(metric) - pl.col("median")) / pl.col("mad")).alias("z"))
                  .filter(pl.col("z").abs() > Z_WARNING))
        worst = scored.sort(pl.col("z").abs(), descending=True).unique("campaign", keep="first")
        for row in worst.head(MAX_METRIC_ANOMALIES).iter_rows(named=True):
            direction = "spike" if row["z"] > 0 else "drop"
            severity = Severity.CRITICAL if abs(row["z"]) > Z_CRITICAL else Severity.WARNING
            found.append(_anomaly(
                f"{metric}_{direction}", severity,
                f"{label} {direction} for campaign {row['campaign']!r} on {row['date']}: {_fmt(metric, row[metric])} "
                f"vs a usual {_fmt(metric, row['median'])} (robust z {row['z']:+.1f}).",
                campaign=row["campaign"], date=row["date"], value=row[metric], median=row["median"],
                z=round(row["z"], 2),
            ))
    usual = history.group_by("campaign").agg(pl.col("impressions").median().alias("usual"))
    zero = current.join(usual, on="campaign").filter((pl.col("impressions") == 0) & (pl.col("usual") >= 100))
    for row in zero.sort("date").unique("campaign", keep="first").head(MAX_METRIC_ANOMALIES).iter_rows(named=True):
        found.append(_anomaly("zero_impressions", Severity.WARNING,
                              f"Campaign {row['campaign']!r} served zero impressions on {row['date']} after usually "
                              f"serving {row['usual']:,.0f} a day: paused, out of budget or a tracking break?",
                              campaign=row["campaign"], date=row["date"], usual=row["usual"]))
    return found


def _fmt(metric: str, value: float) -> str:
    if metric == "spend":
        return f"${value:,.2f}"
    if metric == "ctr":
        return f"{value:.2%}"
    return f"{value:.2f}"
