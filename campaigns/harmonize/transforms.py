"""Vectorized value transforms (polars): money, counts, percents and dates as the networks write them.

Each transform takes a text column and returns (typed value, bad-value mask): a value that was present but
could not be read is null in the result and true in the mask, so the row is rejected with a reason instead
of loading as zero. `fast` handles the common spellings in one cheap pass; the frame builder re-reads only
the values it missed with the thorough transform, so odd spellings cost nothing when a file has none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import polars as pl

MONEY = pl.Decimal(18, 4)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)

# Symbols and codes the networks put next to amounts; stripped before parsing.
_CURRENCY_NOISE = r"[\$£€¥₹\s\u00a0\u202f']|USD|EUR|GBP|CAD|AUD|JPY|MXN"

DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%b %d, %Y", "%B %d, %Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d")

TRANSFORMS = ("text", "money", "decimal", "count", "percent", "date", "gtin", "upper", "lower")


def _present(column: pl.Expr) -> pl.Expr:
    return column.is_not_null() & (column.str.strip_chars() != "")


def _number_text(column: pl.Expr, *, decimal_comma: bool) -> pl.Expr:
    """Text of a plain number: currency noise and thousands separators removed, '(1.5)' → '-1.5'."""
    text = column.str.strip_chars().str.replace_all(_CURRENCY_NOISE, "")
    text = pl.when(text.str.contains(r"^\(.*\)$")).then(pl.lit("-") + text.str.strip_chars("()")).otherwise(text)
    if decimal_comma:
        return text.str.replace_all(r"\.", "").str.replace(",", ".", literal=True)
    return text.str.replace_all(",", "", literal=True)


def money(column: pl.Expr, *, decimal_comma: bool = False) -> tuple[pl.Expr, pl.Expr]:
    value = _number_text(column, decimal_comma=decimal_comma).cast(MONEY, strict=False)
    return value, _present(column) & value.is_null()


def decimal(column: pl.Expr, *, decimal_comma: bool = False) -> tuple[pl.Expr, pl.Expr]:
    return money(column, decimal_comma=decimal_comma)


def count(column: pl.Expr, *, decimal_comma: bool = False) -> tuple[pl.Expr, pl.Expr]:
    text = _number_text(column, decimal_comma=decimal_comma).str.replace(r"\.0+$", "")
    value = text.cast(pl.Int64, strict=False)
    return value, _present(column) & value.is_null()


def percent(column: pl.Expr, *, decimal_comma: bool = False) -> tuple[pl.Expr, pl.Expr]:
    """'2.57%' → 0.0257; a bare number is read as already a percentage ('2.57' → 0.0257)."""
    text = _number_text(column.str.replace_all("%", "", literal=True), decimal_comma=decimal_comma)
    value = text.cast(pl.Float64, strict=False) / 100
    return value, _present(column) & value.is_null()


def date(column: pl.Expr, *, formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> tuple[pl.Expr, pl.Expr]:
    """The first format that reads each value wins; 5-digit numbers are Excel serial days; ISO times are cut."""
    text = column.str.strip_chars()
    iso_prefix = pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}[T ]")).then(text.str.slice(0, 10)).otherwise(text)
    candidates = [iso_prefix.str.strptime(pl.Date, fmt, strict=False) for fmt in formats]
    serial = text.str.extract(r"^(\d{5})(?:\.\d+)?$", 1).cast(pl.Int64, strict=False)
    candidates.append(pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial))
    value = pl.coalesce(candidates)
    return value, _present(column) & value.is_null()


def text(column: pl.Expr, *, max_length: int | None = None) -> tuple[pl.Expr, pl.Expr]:
    value = column.str.strip_chars().fill_null("")
    if max_length is None:
        return value, pl.lit(False)
    return value, value.str.len_chars() > max_length


def fast(transform: str, column: pl.Expr, *, options: dict, decimal_comma: bool) -> pl.Expr | None:
    """The cheap common-case parse, or None when the transform has no separate fast form."""
    if transform in ("money", "decimal") and not decimal_comma:
        return column.str.replace_all(r"[$,]", "").cast(MONEY, strict=False)
    if transform == "count" and not decimal_comma:
        return column.str.replace_all(",", "", literal=True).cast(pl.Int64, strict=False)
    if transform == "date" and options.get("primary_format"):
        return column.str.strptime(pl.Date, options["primary_format"], strict=False)
    return None


def primary_date_format(values: Sequence[str], formats: Sequence[str] = DEFAULT_DATE_FORMATS) -> str | None:
    """The first format that reads every sampled value, if one does."""
    sample = [value.strip() for value in values if value and value.strip()]
    if not sample:
        return None
    series = pl.Series(sample)
    for fmt in formats:
        if series.str.strptime(pl.Date, fmt, strict=False).null_count() == 0:
            return fmt
    return None


def apply(transform: str, column: pl.Expr, *, options: dict, decimal_comma: bool) -> tuple[pl.Expr, pl.Expr]:
    """The thorough parse, dispatched by a spec's transform name."""
    if transform == "money":
        return money(column, decimal_comma=decimal_comma)
    if transform == "decimal":
        return decimal(column, decimal_comma=decimal_comma)
    if transform == "count":
        return count(column, decimal_comma=decimal_comma)
    if transform == "percent":
        return percent(column, decimal_comma=decimal_comma)
    if transform == "date":
        return date(column, formats=options.get("formats") or DEFAULT_DATE_FORMATS)
    if transform == "upper":
        return column.str.strip_chars().str.to_uppercase().fill_null(""), pl.lit(False)
    if transform == "lower":
        return column.str.strip_chars().str.to_lowercase().fill_null(""), pl.lit(False)
    if transform in ("text", "gtin"):  # GTINs are normalized per distinct value after this step
        return text(column, max_length=options.get("max_length"))
    raise ValueError(f"unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}")


_COMMA_DECIMAL = re.compile(r"^\D*-?[\d.\s]*\d,\d{1,2}\D*$")
_DOT_DECIMAL = re.compile(r"^\D*-?[\d,]*\d\.\d{1,4}\D*$")


def looks_decimal_comma(values: Sequence[str]) -> bool:
    """True when the sample's numbers use ',' as the decimal mark ('1.234,56', '24,80 €')."""
    comma = sum(1 for value in values if _COMMA_DECIMAL.match(value.strip()))
    dot = sum(1 for value in values if _DOT_DECIMAL.match(value.strip()))
    return comma > dot
