"""Reading harmonized data: ingest batches and their rejects, mapping specs, and RMIS performance metrics.

Everything reads the current tenant's schema (the connection's); metrics aggregate in SQL, never row by row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet

from campaigns.attribution import DEFAULT, ESTIMATED, Conversion, Window, conversions
from campaigns.models import IngestAnomaly, IngestBatch, IngestReject, MappingSpec, RMISEvent, RMISSKUDimension
from tenants.jobs.models import Job, JobStatus

INGEST_JOB_KIND = "ingest"
DETAIL_REJECTS = 100

# -- ingest batches ---------------------------------------------------------------------------------------------


def ingest_batch_list() -> QuerySet[IngestBatch]:
    return IngestBatch.objects.annotate(anomaly_count=Count("anomalies")).order_by("-created_at", "-id")


def ingest_batch_get(*, batch_id) -> IngestBatch | None:
    """The batch with this id in the current tenant's schema; None for a malformed, unknown or other tenant's id
    (another tenant's batches live in another schema, so "not yours" and "missing" are the same answer)."""
    try:
        key = int(str(batch_id))
    except ValueError:
        return None
    return ingest_batch_list().filter(pk=key).first()


def ingest_batch_anomalies(*, batch: IngestBatch) -> QuerySet[IngestAnomaly]:
    return IngestAnomaly.objects.filter(batch=batch).order_by("code", "id")


def ingest_batch_rejects(*, batch: IngestBatch) -> QuerySet[IngestReject]:
    return IngestReject.objects.filter(batch=batch).order_by("line")


def ingest_jobs_pending() -> bool:
    return Job.objects.filter(kind=INGEST_JOB_KIND, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists()


# -- mapping specs ----------------------------------------------------------------------------------------------


def mapping_spec_list() -> list[dict[str, Any]]:
    """Built-in specs and every version of the tenant's own. `effective` marks the spec auto-detection and
    `format=<name>` use: the tenant's latest active version of a name, which shadows a built-in of that name."""
    from campaigns.harmonize.specs import builtin_specs

    rows = list(MappingSpec.objects.order_by("name", "-version"))
    latest_active: dict[str, int] = {}
    for row in rows:
        if row.is_active and row.name not in latest_active:
            latest_active[row.name] = row.version
    specs = [{"name": spec.name, "version": spec.version, "network": spec.network, "kind": spec.kind,
              "title": spec.title, "builtin": True, "active": True, "effective": spec.name not in latest_active,
              "created_by": "", "created_at": None, "document": spec.document}
             for spec in builtin_specs()]
    specs += [{"name": row.name, "version": row.version, "network": row.network, "kind": row.kind,
               "title": row.definition.get("title") or row.name, "builtin": False, "active": row.is_active,
               "effective": latest_active.get(row.name) == row.version, "created_by": row.created_by,
               "created_at": row.created_at, "document": row.definition}
              for row in rows]
    return sorted(specs, key=lambda spec: (spec["name"], spec["builtin"], -spec["version"]))


def mapping_spec_choices() -> list[tuple[str, str]]:
    """(value, label) of every spec an upload can name: the effective one per name."""
    return [(spec["name"], f'{spec["title"]} ({spec["name"]})') for spec in mapping_spec_list() if spec["effective"]]


# -- RMIS metrics -----------------------------------------------------------------------------------------------

EVENTS = RMISEvent._meta.db_table
SKUS = RMISSKUDimension._meta.db_table
# group name → (SQL expression over the facts `e`, labels shown with it as (name, SQL aggregate)).
METRIC_GROUPS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "network": ("e.network", ()),
    "account": ("e.account", ()),
    "placement": ("e.placement", ()),
    "campaign": ("COALESCE(NULLIF(e.campaign_id, ''), e.campaign_name)", (("campaign_name", "MAX(e.campaign_name)"),)),
    "sku": ("e.gtin14", (("sku_name", "MAX(s.name)"),)),
    "date": ("e.date", ()),
    "week": ("date_trunc('week', e.date::timestamp)::date", ()),
    "month": ("date_trunc('month', e.date::timestamp)::date", ()),
}
METRIC_ORDERS = ("group", "spend")
MAX_METRIC_ROWS = 10_000

CENT = Decimal("0.01")
RATE = Decimal("0.0001")


@dataclass
class MetricsFilter:
    group_by: list[str]
    window: Window
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    order: str = "group"
    limit: int = 1000


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


def _count(value) -> str | None:
    # Orders are Decimal: linear attribution credits fractions of them. "7", "2.5", never "7.0000".
    if value is None:
        return None
    return format(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP).normalize(), "f")


def _ratio(numerator, denominator, places: Decimal) -> str | None:
    if numerator is None or not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP))


def _where(filters: MetricsFilter) -> tuple[str, list]:
    clauses, params = ["TRUE"], []
    if filters.date_from:
        clauses.append("e.date >= %s")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("e.date <= %s")
        params.append(filters.date_to)
    return " AND ".join(clauses), params


def _at_target(days: int) -> tuple[str, list]:
    return "(e.attribution_window_days = %s OR (e.sales_by_window ->> %s) IS NOT NULL)", [days, str(days)]


def rmis_metric_conversions(*, filters: MetricsFilter) -> dict[Window, Conversion]:
    """The source windows present in the filtered rows, each with its conversion to the requested window (one
    scan of the facts and one of the multi-window rows: pages asking several groupings compute it once)."""
    where, params = _where(filters)
    at_target, at_params = _at_target(filters.window.days)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT CASE WHEN {at_target} THEN %s ELSE e.attribution_window_days END, "  # noqa: S608
            f"e.attribution_scope FROM {EVENTS} e WHERE {where}",
            [*at_params, filters.window.days, *params],
        )
        sources = [Window(days=days, scope=scope) for days, scope in cursor.fetchall()]
    return conversions(sources=sources, target=filters.window)


def _metrics_sql(filters: MetricsFilter, table: dict[Window, Conversion], *, grouped: bool) -> tuple[str, list]:
    """Two aggregates: the facts per group × (source window, scope), each row's sales read at the target window
    where it kept that window (else at its own); then per group, each (window, scope) sum times its conversion
    factor. The per-row work stays a few column reads; the factors meet only the small inner result."""
    days = filters.window.days
    where, where_params = _where(filters)
    group_sql = [METRIC_GROUPS[name][0] for name in filters.group_by] if grouped else []
    label_sql = [aggregate for name in filters.group_by for _, aggregate in METRIC_GROUPS[name][1]] if grouped else []
    kept = "(e.sales_by_window ->> %s)"
    # Grouped by plain columns and a boolean (whether the row kept the target window), which the planner can
    # count and hash; a CASE here made it guess thousands of groups and sort the whole table instead.
    inner_selects = [*(f"{sql} AS g{i}" for i, sql in enumerate(group_sql)),
                     *(f"{sql} AS l{i}" for i, sql in enumerate(label_sql)),
                     "e.attribution_window_days AS window_days", "e.attribution_scope AS scope",
                     f"({kept} IS NOT NULL) AS kept",
                     "SUM(e.spend) AS spend", "SUM(e.impressions) AS impressions", "SUM(e.clicks) AS clicks",
                     f"SUM(CASE WHEN e.attribution_window_days = %s THEN e.attributed_sales WHEN {kept} IS NOT NULL "
                     f"THEN {kept}::numeric ELSE e.attributed_sales END) AS sales",
                     "SUM(e.attributed_orders) AS orders", "COUNT(*) AS n"]
    inner_params = [str(days), days, str(days), str(days), *where_params]
    width = len(group_sql) + len(label_sql)
    inner_groups = [*(str(i + 1) for i in range(len(group_sql))), *(str(width + i) for i in (1, 2, 3))]
    join = f" LEFT JOIN {SKUS} s ON s.gtin14 = e.gtin14" if grouped and "sku" in filters.group_by else ""
    inner = (f"SELECT {', '.join(inner_selects)} FROM {EVENTS} e{join} WHERE {where} "  # noqa: S608 - whitelisted
             f"GROUP BY {', '.join(inner_groups)}")
    # The window each group's sales are read at: the target where the rows kept it, else their own.
    inner = ("SELECT f.*, CASE WHEN f.window_days = %s OR f.kept THEN %s ELSE f.window_days END "  # noqa: S608
             f"AS source_days FROM ({inner}) f")
    inner_params = [days, days, *inner_params]

    factor_cases, level_cases, outer_params = [], [], []
    for source, conversion in sorted(table.items()):
        factor_cases.append("WHEN f.source_days = %s AND f.scope = %s THEN %s::numeric")
        outer_params += [source.days, source.scope, conversion.factor]
    for source, conversion in sorted(table.items()):
        level_cases.append("WHEN f.source_days = %s AND f.scope = %s THEN %s")
        outer_params += [source.days, source.scope, conversion.level]
    factor = f"(CASE {' '.join(factor_cases)} ELSE 1 END)" if factor_cases else "1"
    level = f"(CASE {' '.join(level_cases)} ELSE 0 END)" if level_cases else "0"
    outer_selects = [*(f"f.g{i}" for i in range(len(group_sql))), *(f"MAX(f.l{i})" for i in range(len(label_sql))),
                     "SUM(f.spend)", "SUM(f.impressions)", "SUM(f.clicks)", f"SUM(f.sales * {factor})",
                     "SUM(f.orders)", f"MAX({level})", "ARRAY_AGG(DISTINCT f.source_days::text || 'd_' || f.scope)",
                     "SUM(f.n)"]
    sql = f"SELECT {', '.join(outer_selects)} FROM ({inner}) f"  # noqa: S608 - whitelisted parts
    params = [*outer_params, *inner_params]
    if grouped:
        positions = ", ".join(str(i + 1) for i in range(len(group_sql)))
        ordering = [f"{i + 1} ASC NULLS LAST" for i in range(len(group_sql))]
        if filters.order == "spend":
            ordering.insert(0, f"{width + 1} DESC")
        sql += f" GROUP BY {positions} ORDER BY {', '.join(ordering)} LIMIT %s"
        params.append(filters.limit + 1)
    return sql, params


def _metric_row(values: tuple, *, label: str) -> dict[str, Any]:
    spend, impressions, clicks, sales, orders, level, sources, rows = values
    spend = Decimal(spend or 0)
    sales = Decimal(sales or 0)
    impressions, clicks = int(impressions or 0), int(clicks or 0)
    level = int(level or 0)
    return {
        "spend": _money(spend), "impressions": impressions, "clicks": clicks, "sales": _money(sales),
        "orders": _count(orders),
        "roas": _ratio(sales, spend, CENT), "cpc": _ratio(spend, clicks, CENT),
        "ctr": _ratio(clicks, impressions, RATE), "cvr": _ratio(orders, clicks, RATE),
        "window": label, "converted": level > 0,
        "source_windows": sorted(sources or [], key=lambda text: (int(text.partition("d_")[0]), text)),
        "conversion": {0: None, 1: ESTIMATED, 2: DEFAULT}[level],
        "rows": int(rows or 0),
    }


def _group_value(name: str, value) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rmis_metrics(*, filters: MetricsFilter, table: dict[Window, Conversion] | None = None,
                 totals: bool = True) -> dict[str, Any]:
    """Spend, delivery and sales (at `filters.window`) per group, the totals (unless `totals` is False), and the
    conversions used. `table` is rmis_metric_conversions() for the same dates and window, when already known."""
    if table is None:
        table = rmis_metric_conversions(filters=filters)
    label = filters.window.label
    total_values = None
    with connection.cursor() as cursor:
        sql, params = _metrics_sql(filters, table, grouped=True)
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
        if totals:
            sql, params = _metrics_sql(filters, table, grouped=False)
            cursor.execute(sql, params)
            total_values = cursor.fetchone()
    truncated = len(fetched) > filters.limit
    width = len(filters.group_by)
    label_names = [name for group in filters.group_by for name, _ in METRIC_GROUPS[group][1]]
    rows = []
    for values in fetched[:filters.limit]:
        row = {name: _group_value(name, value) for name, value in zip(filters.group_by, values[:width], strict=True)}
        labels = values[width:width + len(label_names)]
        row.update(dict(zip(label_names, labels, strict=True)))
        row.update(_metric_row(values[width + len(label_names):], label=label))
        rows.append(row)
    return {
        "group_by": filters.group_by,
        "window": label,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
        "rows": rows,
        "truncated": truncated,
        "totals": _metric_row(total_values, label=label) if total_values is not None else None,
        "conversions": [conversion.to_dict() for _, conversion in sorted(table.items()) if conversion.conversion],
    }


def rmis_has_events() -> bool:
    return RMISEvent.objects.exists()
