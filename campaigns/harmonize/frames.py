"""Chunk → typed RMIS frame: apply a spec's column plan, resolve products and placements, collect reasons.

Everything here is vectorized polars; the per-value Python work (GTINs, crosswalk) runs once per distinct id.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from campaigns.harmonize import transforms
from campaigns.harmonize.gtin import Kind, normalize_many
from campaigns.harmonize.placements import placement_map_for
from campaigns.harmonize.readers import LINE_COLUMN
from campaigns.harmonize.specs import ColumnPlan, normalize_header
from campaigns.models import Placement, SpecKind

REASONS = "_reasons"
KNOWN_CURRENCIES = frozenset(
    "USD EUR GBP CAD AUD NZD JPY CNY INR MXN BRL SEK NOK DKK CHF PLN CZK HUF TRY AED SAR SGD HKD KRW ZAR".split()
)
EARLIEST_DATE = dt.date(2010, 1, 1)

# Text fields per kind, and how long each may be (the RMIS column widths).
TEXT_LIMITS = {
    "account": 128, "campaign_id": 64, "campaign_name": 300, "ad_group_id": 64, "ad_group_name": 300,
    "ad_id": 64, "placement_raw": 128, "environment": 32, "product_id": 64, "keyword": 300, "search_term": 500,
    "match_type": 32,
    "audience_segment_id": 128, "audience_name": 300, "retailer": 64, "region": 32,
}
EVENT_NUMERIC = ("impressions", "clicks", "spend", "attributed_sales", "attributed_orders", "attributed_units",
                 "same_sku_sales", "other_sku_sales", "ntb_sales")
MONEY_FIELDS = ("spend", "attributed_sales", "same_sku_sales", "other_sku_sales", "ntb_sales", "revenue", "price",
                "unit_cost")


@dataclass
class ChunkContext:
    """What a chunk needs beyond its rows: the plan, request options and id resolvers."""

    plan: ColumnPlan
    account: str
    currency: str | None
    attribution: dict
    decimal_comma: bool
    today: dt.date
    resolve_ids: Callable[[list[str]], dict[str, str]]  # network product id → gtin14, for non-GTIN id types
    known_gtins: Callable[[list[str]], set[str]]


def _reason(mask: pl.Expr, code: str) -> pl.Expr:
    return pl.when(mask).then(pl.lit(code))


def typed_frame(chunk: pl.DataFrame, context: ChunkContext) -> pl.DataFrame:
    """The chunk as typed RMIS columns plus `_reasons` (a list of reason codes; empty means the row loads)."""
    plan, spec = context.plan, context.plan.spec
    columns: list[pl.Expr] = [pl.col(LINE_COLUMN)]
    reasons: list[pl.Expr] = []
    second_pass: list[tuple[str, str, str, dict]] = []  # (field, header, transform, options) read fast first
    for rule in spec.columns:
        header = plan.fields.get(rule.field)
        if header is None:
            continue
        options = dict(rule.options)
        if rule.field in TEXT_LIMITS:
            options.setdefault("max_length", TEXT_LIMITS[rule.field])
        if rule.transform == "date":
            sample = chunk.get_column(header).head(500).drop_nulls().to_list()
            options["primary_format"] = transforms.primary_date_format(
                sample, options.get("formats") or transforms.DEFAULT_DATE_FORMATS)
        quick = transforms.fast(rule.transform, pl.col(header), options=options, decimal_comma=context.decimal_comma)
        if quick is not None:
            columns.append(quick.alias(rule.field))
            second_pass.append((rule.field, header, rule.transform, options))
        else:
            value, bad = transforms.apply(rule.transform, pl.col(header), options=options,
                                          decimal_comma=context.decimal_comma)
            columns.append(value.alias(rule.field))
            code = "too_long" if rule.transform in ("text", "gtin") else f"bad_{rule.transform}"
            reasons.append(_reason(bad, f"{code}:{rule.field}"))
        if rule.field in spec.required:
            reasons.append(_reason(pl.col(header).is_null() | (pl.col(header).str.strip_chars() == ""),
                                   f"missing:{rule.field}"))
    for field_name, windows in plan.extra_windows.items():
        for days, header in windows.items():
            transform = "money" if field_name == "attributed_sales" else "count"
            value, bad = transforms.apply(transform, pl.col(header), options={}, decimal_comma=context.decimal_comma)
            columns.append(value.alias(f"{field_name}@{days}"))
            reasons.append(_reason(bad, f"bad_{transform}:{field_name}@{days}"))
    date_header = plan.fields.get("date")
    if date_header is not None:
        # An export pasted twice carries its header again mid-file.
        reasons.append(_reason(
            pl.col(date_header).str.strip_chars().str.to_lowercase() == normalize_header(date_header), "repeated_header"
        ))
    reason_list = pl.concat_list(reasons).list.drop_nulls() if reasons else pl.lit([], dtype=pl.List(pl.Utf8))
    frame = chunk.select(*columns, reason_list.alias(REASONS))
    for field_name, header, transform, options in second_pass:
        frame = _second_pass(frame, chunk, field_name, header, transform, options, context.decimal_comma)
    frame = _with_constants(frame, context)
    if spec.kind == SpecKind.AD_EVENTS:
        frame = _event_rules(frame, context)
    elif spec.kind == SpecKind.SALES:
        frame = _sales_rules(frame, context)
    else:
        frame = _catalog_rules(frame)
    if "product_id" in frame.columns and spec.kind != SpecKind.CATALOG:
        frame = _resolve_products(frame, context)
    return frame


def _second_pass(frame: pl.DataFrame, chunk: pl.DataFrame, field_name: str, header: str, transform: str,
                 options: dict, decimal_comma: bool) -> pl.DataFrame:
    """Re-read, with the thorough transform, only the values the fast pass could not read."""
    missed = chunk.get_column(header).is_not_null() & frame.get_column(field_name).is_null()
    if not missed.any():
        return frame
    indexes = missed.arg_true()
    value, bad = transforms.apply(transform, pl.col(header), options=options, decimal_comma=decimal_comma)
    redone = chunk.filter(missed).select(value.alias("value"), bad.alias("bad"))
    repaired = frame.get_column(field_name).scatter(indexes, redone.get_column("value"))
    reason = pl.Series([None] * frame.height, dtype=pl.Utf8).scatter(
        indexes, pl.Series([f"bad_{transform}:{field_name}" if flag else None
                            for flag in redone.get_column("bad").to_list()], dtype=pl.Utf8))
    return frame.with_columns(
        repaired.alias(field_name),
        pl.concat_list([pl.col(REASONS), pl.concat_list([pl.lit(reason)]).list.drop_nulls()]).alias(REASONS),
    )


def _with_constants(frame: pl.DataFrame, context: ChunkContext) -> pl.DataFrame:
    spec = context.plan.spec
    additions = []
    for field_name, value in spec.constants.items():
        if field_name not in frame.columns:
            additions.append(pl.lit(value).alias(field_name))
    if spec.kind == SpecKind.AD_EVENTS:
        if context.account:  # the upload names the account: it wins over the file
            additions.append(pl.lit(context.account).alias("account"))
        elif "account" not in frame.columns:
            additions.append(pl.lit("").alias("account"))
        if context.currency:
            additions.append(pl.lit(context.currency.upper()).alias("currency"))
    frame = frame.with_columns(additions) if additions else frame
    if "currency" in frame.columns and spec.constants.get("currency"):
        frame = frame.with_columns(pl.when(pl.col("currency") == "").then(pl.lit(spec.constants["currency"]))
                                   .otherwise(pl.col("currency")).alias("currency"))
    return frame


def _add_reasons(frame: pl.DataFrame, rules: list[pl.Expr]) -> pl.DataFrame:
    return frame.with_columns(pl.concat_list([pl.col(REASONS), pl.concat_list(rules).list.drop_nulls()])
                              .alias(REASONS))


def _date_rules(context: ChunkContext) -> list[pl.Expr]:
    upper = context.today + dt.timedelta(days=1)
    return [_reason((pl.col("date") < EARLIEST_DATE) | (pl.col("date") > upper), "date_out_of_range")]


def _event_rules(frame: pl.DataFrame, context: ChunkContext) -> pl.DataFrame:
    spec, plan = context.plan.spec, context.plan
    for name in ("campaign_id", "campaign_name", "ad_group_id", "ad_group_name", "ad_id", "placement_raw",
                 "environment",
                 "keyword", "search_term", "match_type", "product_id"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(name))
    for name in EVENT_NUMERIC:
        if name not in frame.columns:
            dtype = transforms.MONEY if name in MONEY_FIELDS else pl.Int64
            default = 0 if name in ("impressions", "clicks", "spend", "attributed_sales") else None
            frame = frame.with_columns(pl.lit(default, dtype=dtype).alias(name))
    # Attribution: the upload's override, else a column, else the header, else the spec's constant.
    attribution = {**spec.attribution, **{k: v for k, v in context.attribution.items() if v}}
    window = context.attribution.get("window_days") or plan.window_from_header or spec.attribution.get("window_days")
    additions = []
    if "attribution_window_days" not in frame.columns or context.attribution.get("window_days"):
        additions.append(pl.lit(window, dtype=pl.Int64).alias("attribution_window_days"))
    if "attribution_scope" not in frame.columns or context.attribution.get("scope"):
        additions.append(pl.lit(attribution.get("scope", "click")).alias("attribution_scope"))
    if "attribution_model" not in frame.columns or context.attribution.get("model"):
        additions.append(pl.lit(attribution.get("model", "last_touch")).alias("attribution_model"))
    frame = frame.with_columns(additions).with_columns(
        pl.col("impressions").fill_null(0), pl.col("clicks").fill_null(0), pl.col("spend").fill_null(0),
        pl.col("attributed_sales").fill_null(0),
    )
    frame = frame.with_columns(_placement(frame, context).alias("placement"))
    rules = [
        *_date_rules(context),
        _reason(pl.col("clicks") > pl.col("impressions"), "clicks_exceed_impressions"),
        _reason(pl.col("spend") < 0, "negative_spend"),
        _reason((pl.col("impressions") < 0) | (pl.col("clicks") < 0) | (pl.col("attributed_orders") < 0)
                | (pl.col("attributed_units") < 0), "negative_count"),
        _reason(~pl.col("currency").is_in(list(KNOWN_CURRENCIES)), "unknown_currency"),
        _reason(pl.col("attribution_window_days").is_null() | (pl.col("attribution_window_days") < 1),
                "unknown_attribution_window"),
    ]
    return _add_reasons(frame, rules)


def _placement(frame: pl.DataFrame, context: ChunkContext) -> pl.Expr:
    spec = context.plan.spec
    settings = spec.placement or {}
    mapping = placement_map_for(network=spec.network, extra=settings.get("map"))
    raw = pl.col("placement_raw").str.to_lowercase()
    expr = raw.replace_strict(mapping, default=None, return_dtype=pl.Utf8)
    for rule in settings.get("derive") or []:
        source = rule["field"]
        if source in frame.columns:
            expr = pl.when(expr.is_null() & (pl.col(source) == rule.get("equals"))).then(pl.lit(rule["then"])) \
                .otherwise(expr)
        else:
            header = next((h for h in context.plan.fields.values() if normalize_header(h) == source), None)
            if header:
                expr = pl.when(expr.is_null() & (pl.col(header) == rule.get("equals"))) \
                    .then(pl.lit(rule["then"])).otherwise(expr)
    unknown = (raw != "") & expr.is_null()
    default = settings.get("default", Placement.OTHER)
    return pl.when(unknown).then(pl.lit(Placement.OTHER)).otherwise(expr.fill_null(pl.lit(default)))


def _sales_rules(frame: pl.DataFrame, context: ChunkContext) -> pl.DataFrame:
    for name, default in (("region", ""), ("on_hand", None), ("currency", "USD")):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(default).alias(name))
    rules = [
        *_date_rules(context),
        _reason((pl.col("units") < 0) | (pl.col("revenue") < 0) | (pl.col("on_hand") < 0), "negative_value"),
        _reason(pl.col("retailer") == "", "missing:retailer"),
    ]
    return _add_reasons(frame, rules)


def _catalog_rules(frame: pl.DataFrame) -> pl.DataFrame:
    """Every catalog row needs one valid GTIN (the dimension's key); prices and costs are never negative."""
    for name in ("gtin", "upc"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(name))
    code = pl.when(pl.col("gtin") != "").then(pl.col("gtin")).otherwise(pl.col("upc"))
    distinct = [value for value in frame.select(code.alias("c")).get_column("c").unique().to_list() if value]
    bad = {value: f"bad_gtin:{result.kind}" for value, result in normalize_many(distinct).items() if not result.valid}
    rules = [
        _reason(code == "", "missing:gtin"),
        code.replace_strict(bad, default=None, return_dtype=pl.Utf8),
    ]
    for name in ("price", "unit_cost"):
        if name in frame.columns:
            rules.append(_reason(pl.col(name) < 0, f"negative_value:{name}"))
    return _add_reasons(frame, rules)


def _resolve_products(frame: pl.DataFrame, context: ChunkContext) -> pl.DataFrame:
    """product_id → gtin14 (kept only when the SKU is in the catalog); damaged codes are rejected."""
    spec = context.plan.spec
    distinct = [value for value in frame.get_column("product_id").unique().to_list() if value]
    gtins: dict[str, str | None] = {}
    bad: dict[str, str] = {}
    if spec.product_id_type == "gtin":
        for code, result in normalize_many(distinct).items():
            if not result.valid:
                bad[code] = f"bad_gtin:{result.kind}"
            elif not result.variable_measure:
                gtins[code] = result.gtin14
    else:
        gtins.update(context.resolve_ids(distinct))
        for code, result in normalize_many([code for code in distinct if code not in gtins]).items():
            if result.kind in (Kind.EXCEL_DAMAGED,):
                bad[code] = f"bad_product_id:{result.kind}"
    known = context.known_gtins([value for value in gtins.values() if value])
    resolved = {code: gtin for code, gtin in gtins.items() if gtin in known}
    frame = frame.with_columns(
        pl.col("product_id").replace_strict(resolved, default=None, return_dtype=pl.Utf8).alias("gtin14"),
    )
    if bad:
        frame = _add_reasons(frame, [pl.col("product_id").replace_strict(bad, default=None, return_dtype=pl.Utf8)])
    return frame


def natural_key_hash(frame: pl.DataFrame, fields: tuple[str, ...]) -> pl.Expr:
    present = [pl.col(name).cast(pl.Utf8).fill_null("") for name in fields if name in frame.columns]
    return pl.concat_str(present, separator="\x1f").hash(seed=0)


def raw_rows_json(chunk: pl.DataFrame, lines: pl.Series) -> list[str]:
    """The source rows (header → text) of the given lines, as JSON for the rejects table."""
    picked = chunk.filter(pl.col(LINE_COLUMN).is_in(lines.implode()))
    data = picked.drop(LINE_COLUMN).to_dicts()
    return [json.dumps(row, ensure_ascii=False) for row in data]
