"""Spec suggestions for exports no spec matches: header similarity to every known network's vocabulary, checked
against what the values look like. The draft is for a user to confirm or edit; nothing is written here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache

import polars as pl

from campaigns.harmonize.gtin import Kind, normalize_gtin
from campaigns.harmonize.readers import LINE_COLUMN, SourceFile, UnreadableFile
from campaigns.harmonize.specs import FIELDS, SpecError, builtin_specs, normalize_header, spec_from_document
from campaigns.harmonize.transforms import DEFAULT_DATE_FORMATS
from campaigns.models import SpecKind

# -- value profiles -------------------------------------------------------------------------------------------

FIT_SHARE = 0.8  # a column is of a kind when this share of its non-empty values fits it
EXCEL_SERIAL = "excel_serial"
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial days of 2000-01-01 and 2099-12-31: five-digit numbers outside this are counts, not dates.
_SERIAL_RANGE = ((dt.date(2000, 1, 1) - _EXCEL_EPOCH).days, (dt.date(2099, 12, 31) - _EXCEL_EPOCH).days)
# A report covers days to months; five-digit numbers spread wider than this are counts (impressions), not dates.
_SERIAL_SPAN_DAYS = 1100
_CURRENCY_CODES = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY", "₹": "INR"}
_CURRENCY = re.compile(r"[$£€¥₹]|\b(?:USD|EUR|GBP|CAD|AUD|JPY|MXN)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(\d{1,3}(?:([,.' \u00a0\u202f])\d{3})+|\d+)(?:([.,])(\d+))?")
_ASIN = re.compile(r"B0[0-9A-Z]{8}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_LONG_DIGITS = re.compile(r"\d{10,}")
_GTIN_KINDS = {Kind.GTIN_8, Kind.UPC_A, Kind.EAN_13, Kind.GTIN_14}
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")
_SERIAL = re.compile(r"(\d{5})(?:\.\d+)?")
# Roughly what DEFAULT_DATE_FORMATS can read; strptime is slow, so other values are not tried at all.
_DATE_SHAPE = re.compile(
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}|[A-Za-z]{3,9}\.? \d{1,2}, \d{4}|\d{8}")
PROFILE_KINDS = ("date", "percent", "asin_like", "gtin_like", "id_like", "count", "money", "decimal", "text")


@dataclass(frozen=True)
class _Number:
    decimals: int
    symbol: str | None  # the currency symbol or code written with the amount
    percent: bool
    leading_zero: bool


def _number(value: str) -> _Number | None:
    """The shape of a number as the networks write it ('$1,234.50', '"1,204"', '2.57%', '(3.10)'), or None."""
    text = value.strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    found = _CURRENCY.search(text)
    symbol = found.group(0) if found else None
    text = _CURRENCY.sub("", text).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if text[:1] in ("-", "+"):
        text = text[1:].strip()
    match = _NUMBER.fullmatch(text)
    if not match:
        return None
    whole, separator, mark, fraction = match.groups()
    if separator and mark and separator == mark:
        return None
    decimals = len(fraction) if fraction else 0
    if separator == "." and not mark and whole.count(".") == 1:
        decimals = 3  # '1.234' is a decimal in dot-decimal files
    leading_zero = len(whole) > 1 and whole.startswith("0") and not separator
    return _Number(decimals=decimals, symbol=symbol, percent=percent, leading_zero=leading_zero)


@lru_cache(maxsize=8192)
def _date_formats(value: str) -> tuple[str, ...]:
    """Every format of DEFAULT_DATE_FORMATS that reads `value` (plus EXCEL_SERIAL), as the date transform would."""
    text = value.strip()
    if _ISO_DATETIME.match(text):
        text = text[:10]
    formats: list[str] = []
    for fmt in DEFAULT_DATE_FORMATS if _DATE_SHAPE.fullmatch(text) else ():
        if fmt == "%Y%m%d" and not re.fullmatch(r"\d{8}", text):
            continue  # strptime reads '2026091' as %Y%m%d too
        try:
            time.strptime(text, fmt)
        except ValueError:
            continue
        formats.append(fmt)
    serial = _SERIAL.fullmatch(text)
    if serial and _SERIAL_RANGE[0] <= int(serial.group(1)) <= _SERIAL_RANGE[1]:
        formats.append(EXCEL_SERIAL)
    return tuple(formats)


def _gtin_like(value: str) -> bool:
    text = value.strip()
    if not re.fullmatch(r"\d{8}|\d{12,14}", text):
        return False
    result = normalize_gtin(text)
    return result.valid and result.kind in _GTIN_KINDS


def profile_column(values: list[str]) -> dict:
    """What a column's non-empty values look like: `kind` (one of PROFILE_KINDS), `share` of values that fit it,
    3 `examples`, `empty_share`; `format` for dates, `currency` for money, and `fits` (share per kind)."""
    present = [value.strip() for value in values if value is not None and value.strip()]
    empty_share = round(1 - len(present) / len(values), 3) if values else 1.0
    examples = list(dict.fromkeys(present))[:3]
    if not present:
        return {"kind": "text", "share": 0.0, "examples": [], "empty_share": empty_share, "fits": {}}
    hits: Counter = Counter()
    evidence = 0  # amounts written like money: a currency symbol or exactly two decimals
    symbols: Counter = Counter()
    date_hits: Counter = Counter()
    serials: list[int] = []
    for value in present:
        formats = _date_formats(value)
        if EXCEL_SERIAL in formats:
            serials.append(int(_SERIAL.fullmatch(value).group(1)))
        date_hits.update(formats)
        number = _number(value)
        kinds = set()
        if formats:
            kinds.add("date")
        if number and number.percent:
            kinds.add("percent")
        elif number:
            if not number.symbol and not number.decimals and not number.leading_zero:
                kinds.add("count")
            if number.decimals <= 2:
                kinds.add("money")
                evidence += bool(number.symbol) or number.decimals == 2
                if number.symbol:
                    symbols[_CURRENCY_CODES.get(number.symbol, number.symbol.upper())] += 1
            if not number.symbol:
                kinds.add("decimal")
        if _ASIN.fullmatch(value.upper()):
            kinds.add("asin_like")
        if _gtin_like(value):
            kinds.add("gtin_like")
        if _LONG_DIGITS.fullmatch(value) or _UUID.fullmatch(value):
            kinds.add("id_like")
        hits.update(kinds or {"text"})
    if serials and max(serials) - min(serials) > _SERIAL_SPAN_DAYS:
        # Five-digit numbers spread over years are counts: drop the serial reading.
        hits["date"] -= sum(1 for value in present if _date_formats(value) == (EXCEL_SERIAL,))
        date_hits.pop(EXCEL_SERIAL, None)
    total = len(present)
    fits = {kind: round(hits[kind] / total, 3) for kind in PROFILE_KINDS if hits[kind] > 0}
    kind = _profile_kind(fits, has_evidence=evidence > 0,
                         whole_numbers=fits.get("count", 0) >= FIT_SHARE and evidence == 0)
    profile = {"kind": kind, "share": fits.get(kind, 0.0), "examples": examples, "empty_share": empty_share,
               "fits": fits}
    if kind == "date":
        # The format that reads most values; DEFAULT_DATE_FORMATS order breaks ties, as the transform does.
        order = [*DEFAULT_DATE_FORMATS, EXCEL_SERIAL]
        profile["format"] = max(date_hits, key=lambda fmt: (date_hits[fmt], -order.index(fmt)))
    if kind == "money" and symbols:
        profile["currency"] = symbols.most_common(1)[0][0]
    return profile


def _profile_kind(fits: dict[str, float], *, has_evidence: bool, whole_numbers: bool) -> str:
    for kind in ("date", "percent", "asin_like", "gtin_like", "id_like"):
        if fits.get(kind, 0) >= FIT_SHARE:
            return kind
    if whole_numbers:
        return "count"
    if fits.get("money", 0) >= FIT_SHARE and has_evidence:
        return "money"
    for kind in ("decimal", "count", "money"):
        if fits.get(kind, 0) >= FIT_SHARE:
            return kind
    best = max((kind for kind in PROFILE_KINDS if kind != "text"), key=lambda kind: fits.get(kind, 0))
    return best if fits.get(best, 0) >= 0.5 else "text"


# -- header vocabulary ----------------------------------------------------------------------------------------

# Common names per kind and field, beyond what the built-in specs already call them.
COMMON_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    SpecKind.AD_EVENTS: {
        "date": ("date", "day", "report date", "event date", "stat date", "activity date"),
        "account": ("account", "account name", "advertiser", "advertiser name", "retailer"),
        "campaign_id": ("campaign id", "campaign key", "campaign number"),
        "campaign_name": ("campaign", "campaign name", "campaign title"),
        "ad_group_id": ("ad group id", "line item id", "ad set id", "adset id", "flight id"),
        "ad_group_name": ("ad group", "ad group name", "line item", "line item name", "ad set", "ad set name",
                          "adset", "flight", "flight name", "tactic"),
        "ad_id": ("ad id", "creative id"),
        "placement_raw": ("placement", "placement type", "placement name", "page type", "ad placement", "slot"),
        "environment": ("environment", "device", "device type", "platform"),
        "audience_segment_id": ("audience id", "segment id", "audience segment id"),
        "audience_name": ("audience", "audience name", "segment", "segment name"),
        "product_id": ("product id", "upc", "product upc", "item upc", "upc code", "gtin", "ean", "sku", "product sku",
                       "retailer sku", "item id", "asin", "advertised asin", "scan code", "tcin", "product code"),
        "keyword": ("keyword", "keyword text", "bidded keyword", "targeting", "target"),
        "search_term": ("search term", "search query", "query", "customer search term", "searched keyword"),
        "match_type": ("match type", "keyword match type"),
        "impressions": ("impressions", "impression", "impr", "imps", "imp", "views shown", "ads shown",
                        "served impressions", "ad impressions"),
        "clicks": ("clicks", "click", "ad clicks"),
        "spend": ("spend", "cost", "ad spend", "media cost", "media spend", "budget spent", "amount spent", "spent",
                  "total cost", "advertising cost", "ad cost", "billed spend", "gross spend"),
        "currency": ("currency", "currency code"),
        "attributed_sales": ("sales", "revenue", "attributed sales", "attributed revenue", "conversion value",
                             "total sales", "ad sales", "ad revenue", "purchase value", "conversion revenue"),
        "attributed_orders": ("orders", "attributed orders", "conversions", "purchases", "attributed conversions",
                              "transactions"),
        "attributed_units": ("units", "attributed units", "units sold", "attributed quantity", "quantity",
                             "items sold"),
        "same_sku_sales": ("same sku sales", "advertised sku sales", "advertised product sales", "direct sales"),
        "other_sku_sales": ("other sku sales", "halo sales", "brand halo sales", "indirect sales"),
        "ntb_sales": ("new to brand sales", "ntb sales", "ntb attributed sales"),
        "attribution_window_days": ("attribution window", "attribution window days", "lookback window"),
        "attribution_scope": ("attribution scope", "attribution type"),
        "attribution_model": ("attribution model",),
    },
    SpecKind.CATALOG: {
        "gtin": ("gtin", "gtin 14", "barcode"),
        "upc": ("upc", "upc a", "upc code", "item upc"),
        "ean": ("ean 13",),
        "asin": ("asin",),
        "walmart_item_id": ("walmart item id", "item id", "wm item id"),
        "retailer_product_id": ("retailer product id", "retailer sku", "tcin", "product id", "sku"),
        "brand": ("brand", "brand name", "manufacturer"),
        "name": ("name", "product name", "title", "item name", "product", "description"),
        "category": ("category", "department", "product category"),
        "size": ("size", "pack size", "package size"),
        "price": ("price", "list price", "msrp", "retail price", "srp"),
        "unit_cost": ("unit cost", "cost", "cogs", "cost price"),
    },
    SpecKind.SALES: {
        "date": ("date", "day", "week", "week ending", "report date"),
        "product_id": ("product id", "upc", "gtin", "ean", "sku", "item id", "product upc"),
        "retailer": ("retailer", "channel", "banner", "store", "account"),
        "region": ("region", "market", "state", "geo", "area"),
        "units": ("units", "units sold", "qty", "quantity", "pos units", "sales units"),
        "revenue": ("revenue", "sales", "net sales", "sales amount", "pos sales", "sales dollars", "dollars"),
        "on_hand": ("on hand", "inventory", "oh units", "stock", "on hand units", "inventory units"),
        "currency": ("currency", "currency code"),
    },
}

# Words that say a column is a ratio of other columns (recomputed from the facts, never stored).
RATIO_WORDS = frozenset({"ctr", "cpc", "cpm", "cpa", "cpo", "cpv", "vcpm", "roas", "acos", "roi", "cvr", "rate", "per",
                         "%", "percent", "pct", "ratio"})
_FILLER = frozenset({"total", "the", "of", "#", "event", "in", "by", "for", "usd"})
_WINDOW = re.compile(r"(?<![\w])(\d{1,2}) ?(?:d|day|days|tage|giorni|jours|dias|días)(?![\w])")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


def _words(header: str, *, camel: bool = True) -> str:
    """A header as lower-case words: 'attributedSales14days' → 'attributed sales 14 days', '(#)' → '#'."""
    text = unicodedata.normalize("NFKC", header).replace("\ufeff", "")
    if camel:
        text = _CAMEL.sub(" ", text)
    return " ".join(re.findall(r"[^\W_]+|[#%]", text.casefold()))


def header_window(header: str) -> int | None:
    """The attribution window a header names ('14 Day Total Sales', 'Revenue (14d)', 'sales14days'), if any."""
    found = _WINDOW.search(_words(header))
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def _tokens(header: str) -> tuple[str, ...]:
    """The words that say what a column is: windows and filler removed."""
    text = _WINDOW.sub(" ", _words(header))
    return tuple(word for word in text.split() if word not in _FILLER)


@dataclass(frozen=True)
class _Name:
    field: str
    normalized: str
    tokens: tuple[str, ...]
    sources: tuple[str, ...]  # built-in specs that use this name; empty for a common name
    pattern: re.Pattern | None = None


@cache
def _vocabulary(kind: str) -> tuple[dict[str, tuple[_Name, ...]], dict[str, tuple[str, ...]]]:
    """Every name each field of `kind` goes by (built-in specs' headers and patterns, and common names), and the
    headers built-in specs ignore (normalized → the specs)."""
    sources: dict[tuple[str, str], list[str]] = {}
    spelled: dict[tuple[str, str], str] = {}  # as written: 'campaignId' keeps the word break its normal form loses
    patterns: list[_Name] = []
    ignored: dict[str, list[str]] = {}
    for spec in builtin_specs():
        if spec.kind != kind:
            continue
        for field_name, body in spec.document["columns"].items():
            written = body.get("headers", [])
            for header in [written] if isinstance(written, str) else written:
                key = (field_name, normalize_header(header))
                sources.setdefault(key, []).append(spec.name)
                spelled.setdefault(key, header)
        for rule in spec.columns:
            if rule.header_regex is not None:
                patterns.append(_Name(rule.field, rule.header_regex.pattern, (), (spec.name,), rule.header_regex))
        for header in spec.ignored:
            ignored.setdefault(header, []).append(spec.name)
    for field_name, names in COMMON_NAMES[kind].items():
        for name in names:
            key = (field_name, normalize_header(name))
            sources.setdefault(key, [])
            spelled.setdefault(key, name)
    by_field: dict[str, list[_Name]] = {}
    for (field_name, header), specs in sorted(sources.items()):
        by_field.setdefault(field_name, []).append(
            _Name(field_name, header, _tokens(spelled[(field_name, header)]), tuple(specs)))
    for name in patterns:
        by_field.setdefault(name.field, []).append(name)
    return ({field_name: tuple(names) for field_name, names in by_field.items()},
            {header: tuple(specs) for header, specs in ignored.items()})


@lru_cache(maxsize=65536)
def _word_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    prefix = 0.85 if min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)) else 0.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return max(prefix, ratio if ratio >= 0.8 else 0.0)


def _token_similarity(left: tuple[str, ...], right: tuple[str, ...]) -> float:
    """Jaccard on words between a header (`left`) and a known name (`right`), where near-identical words
    ('click'/'clicks', 'impr'/'impressions') count as shared."""
    if not left or not right:
        return 0.0
    if set(left) == set(right):
        return 0.95
    pairs = sorted(((_word_score(a, b), i, j) for i, a in enumerate(left) for j, b in enumerate(right)), reverse=True)
    used_left: set[int] = set()
    used_right: set[int] = set()
    shared = 0.0
    for score, i, j in pairs:
        if score and i not in used_left and j not in used_right:
            used_left.add(i)
            used_right.add(j)
            shared += score
    jaccard = shared / (len(set(left)) + len(set(right)) - shared)
    # 'Link Clicks' says all that 'clicks' says: a name contained in the header counts for more than Jaccard gives.
    contained = shared / len(set(right))
    return 0.9 * max(jaccard, (jaccard + contained) / 2)


@dataclass(frozen=True)
class _Similarity:
    score: float
    name: _Name | None

    def describe(self, field_name: str) -> str:
        name = self.name
        if name is None:
            return f"values only: no header names {field_name}"
        if name.pattern is not None:
            return f"header fits {name.sources[0]}'s pattern for {field_name}"
        if self.score == 1.0:
            if not name.sources:
                return f"header is a common name for {field_name}"
            more = f" (and {len(name.sources) - 1} more)" if len(name.sources) > 1 else ""
            return f"header is how {name.sources[0]}{more} names {field_name}"
        return f"header resembles {name.normalized!r} ({self.score:.2f})"


def _header_similarity(header: str, field_name: str, kind: str) -> _Similarity:
    normalized = normalize_header(header)
    tokens = _tokens(header)
    best = _Similarity(0.0, None)
    for name in _vocabulary(kind)[0].get(field_name, ()):
        if name.pattern is not None:
            score = 1.0 if name.pattern.match(normalized) else 0.0
        elif name.normalized == normalized:
            score = 1.0
        else:
            score = _token_similarity(tokens, name.tokens)
        if score > best.score:
            best = _Similarity(score, name)
    return best


# -- what each field's values must look like --------------------------------------------------------------------

_MONEY = {"money": 1.0, "decimal": 1.0, "count": 0.8}
_COUNT = {"count": 1.0}
_QUANTITY = {"count": 1.0, "decimal": 0.9, "money": 0.8}  # linear attribution gives fractional units
_DATE = {"date": 1.0}
_TEXT = {"text": 1.0, "asin_like": 0.7, "id_like": 0.7, "count": 0.6, "gtin_like": 0.6, "decimal": 0.5, "money": 0.5,
         "date": 0.5}
_ID = {"id_like": 1.0, "count": 1.0, "text": 0.9, "gtin_like": 0.8, "asin_like": 0.8}
_PRODUCT = {"gtin_like": 1.0, "asin_like": 1.0, "id_like": 0.9, "count": 0.8, "text": 0.8}
_GTIN = {"gtin_like": 1.0, "id_like": 0.6, "count": 0.6, "text": 0.5}
_ASIN_ONLY = {"asin_like": 1.0, "text": 0.6}

FIELD_VALUES: dict[str, dict[str, float]] = {
    "date": _DATE, "product_id": _PRODUCT,
    "spend": _MONEY, "attributed_sales": _MONEY, "same_sku_sales": _MONEY, "other_sku_sales": _MONEY,
    "ntb_sales": _MONEY, "revenue": _MONEY, "price": _MONEY, "unit_cost": _MONEY,
    "impressions": _COUNT, "clicks": _COUNT, "on_hand": _COUNT, "units": _COUNT, "attribution_window_days": _COUNT,
    "attributed_orders": _QUANTITY, "attributed_units": _QUANTITY,
    "campaign_id": _ID, "ad_group_id": _ID, "ad_id": _ID, "audience_segment_id": _ID, "walmart_item_id": _ID,
    "retailer_product_id": {**_ID, "text": 1.0},
    "gtin": _GTIN, "upc": _GTIN, "ean": _GTIN, "asin": _ASIN_ONLY,
}
# Text fields the built-in specs case-fold; every other text field keeps its text.
TEXT_TRANSFORMS = {"currency": "upper", "match_type": "lower", "environment": "lower", "retailer": "lower",
                   "region": "upper"}


def _agreement(field_name: str, profile: dict) -> tuple[float, str]:
    """How well the values suit the field (0–1; an empty column neither agrees nor disagrees) and the kind they
    were read as."""
    accepted = FIELD_VALUES.get(field_name, _TEXT)
    fits = profile.get("fits") or {}
    if not fits:
        return 0.8, "empty"
    score, kind = max(((weight * fits.get(kind, 0.0), kind) for kind, weight in accepted.items()),
                      key=lambda pair: (pair[0], -list(accepted).index(pair[1])))
    return round(score, 3), kind


def _transform(field_name: str, profile: dict, read_as: str) -> dict:
    accepted = FIELD_VALUES.get(field_name, _TEXT)
    if accepted is _DATE:
        fmt = profile.get("format")
        formats = [fmt, *(f for f in DEFAULT_DATE_FORMATS if f != fmt)] if fmt in DEFAULT_DATE_FORMATS \
            else list(DEFAULT_DATE_FORMATS)
        return {"transform": "date", "formats": formats}
    if accepted is _MONEY:
        return {"transform": "decimal" if profile["kind"] == "decimal" else "money"}
    if accepted is _COUNT:
        return {"transform": "count"}
    if accepted is _QUANTITY:
        return {"transform": "count" if read_as in ("count", "empty") else "decimal"}
    if field_name == "product_id" or accepted is _GTIN or accepted is _ASIN_ONLY:
        return {"transform": {"gtin_like": "gtin", "asin_like": "upper"}.get(read_as, "text")}
    return {"transform": TEXT_TRANSFORMS.get(field_name, "text")}


# -- the suggestion -------------------------------------------------------------------------------------------

REQUIRED: dict[str, tuple[str, ...]] = {
    SpecKind.AD_EVENTS: ("date", "impressions", "clicks", "spend", "attributed_sales"),
    SpecKind.CATALOG: ("name",),
    SpecKind.SALES: ("date", "product_id", "retailer", "units", "revenue"),
}
WINDOW_FIELDS = ("attributed_sales", "attributed_orders", "attributed_units")
DEFAULT_WINDOW_DAYS = 14  # the most common click window among the networks we know (Walmart, Instacart, Amazon 1P)
MIN_HEADER_SIMILARITY = 0.55  # below this a known name shares words with the header but not its point
MIN_AGREEMENT = 0.5
MIN_SCORE = 0.45
BUILTIN_IGNORED_PENALTY = 0.7

NOTHING_MAPPED = "No column of this file looks like an RMIS field for {kind} files."
WINDOW_ASSUMED = "No header names the attribution window: {days} days assumed; confirm it."
SCOPE_ASSUMED = "Attribution scope and model are not in the file: {scope}, {model} assumed; confirm them."
CURRENCY_ASSUMED = "No currency symbol or column: {currency} assumed; confirm it."

WHY_RATIO = "a ratio of other columns ({words}): recomputed from the facts, not stored"
WHY_PERCENT = "values are percentages: a ratio, not a fact"
WHY_BUILTIN_IGNORED = "{specs} ignores this column"
WHY_OTHER_WINDOW = "another attribution window of {field} ({days} days): only one window is kept"
WHY_EXTRA_WINDOW = "the {days}-day window of {field}, kept beside the {primary}-day figure"
WHY_TAKEN = "closest field {field} went to {header!r}"
WHY_VALUES_DISAGREE = "closest field {field} ({similarity:.2f}), but the values are {kind}"
WHY_NOTHING = "no RMIS field fits this header"


@dataclass
class _Candidate:
    score: float
    index: int
    field: str
    similarity: _Similarity
    read_as: str  # the profile kind the field accepted the values as


def suggested_name(text: str) -> str:
    """A valid spec name from free text (a file stem): 'Kroger Export (Nov)' → 'kroger-export-nov'."""
    slug = re.sub(r"[^a-z0-9_]+", "-", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
                  .casefold()).strip("-_")[:100].rstrip("-_")
    return slug if len(slug) >= 2 else f"custom-{slug or 'spec'}"


def _column_values(source: SourceFile, sample_rows: int) -> list[list[str]]:
    """Up to `sample_rows` values per column, as text ('' for empty)."""
    rows: list[tuple] = []
    try:
        for frame in source.batches(chunk_rows=max(1, sample_rows)):
            rows.extend(frame.drop(LINE_COLUMN).head(sample_rows - len(rows)).rows())
            if len(rows) >= sample_rows:
                break
    except (UnreadableFile, pl.exceptions.PolarsError):
        rows = [tuple(row) for row in source.sample[:sample_rows]]  # what the reader saw; ingest will say why
    return [[("" if i >= len(row) or row[i] is None else str(row[i])) for row in rows]
            for i in range(len(source.headers))]


def suggest_spec(source: SourceFile, *, name: str, network: str, kind: str = SpecKind.AD_EVENTS,
                 sample_rows: int = 500) -> dict:
    """A draft spec for `source`: each header mapped to the RMIS field of `kind` its name and values suggest.

    Returns {"spec", "columns", "confidence", "unmapped_headers", "missing_required", "notes"}; the spec is a
    valid document (checked with spec_from_document) that leaves unmapped required fields out of `required`.
    Raises SpecError when no column maps, or when `name`/`network` are not valid spec keys.
    """
    if kind not in FIELDS:
        raise SpecError({"kind": f"one of {', '.join(SpecKind.values)}"})
    headers = source.headers
    profiles = [profile_column(values) for values in _column_values(source, sample_rows)]
    skipped = _ratio_columns(headers, profiles)
    candidates, near_misses = _candidates(headers, profiles, skipped, kind)
    chosen, variants = _assign(candidates, headers, skipped)
    taken = {candidate.index for candidate in chosen.values()} | set(variants)
    _values_only(chosen, taken, skipped, profiles, headers, sorted(FIELDS[kind]))
    extra_windows, extra_columns = _other_windows(variants, chosen, headers, profiles, skipped)
    builtin_ignored = _vocabulary(kind)[1]
    for index, header in enumerate(headers):
        spec_names = builtin_ignored.get(normalize_header(header))
        if header.strip() and index not in taken and index not in skipped and spec_names:
            skipped[index] = (WHY_BUILTIN_IGNORED.format(specs=", ".join(spec_names[:2])), 0.8)
    if not chosen:
        raise SpecError({"columns": NOTHING_MAPPED.format(kind=kind)})

    notes: list[str] = []
    document, missing = _document(name=name, network=network, kind=kind, headers=headers, profiles=profiles,
                                  chosen=chosen, extra_windows=extra_windows, skipped=skipped, notes=notes)
    spec_from_document(document)  # the draft must compile as it is; a bug here should not reach the preview
    table = _column_table(headers, profiles, document, chosen, candidates, near_misses, extra_columns, skipped)
    return {"spec": document, "columns": table, "confidence": _overall(chosen, table, kind, missing),
            "unmapped_headers": [row["header"] for row in table if row["status"] == "unmapped"],
            "missing_required": missing, "notes": notes}


def _ratio_columns(headers: list[str], profiles: list[dict]) -> dict[int, tuple[str, float]]:
    """Columns that are ratios of others (by name or by their '%' values): index → (why ignored, confidence)."""
    skipped = {}
    for index, header in enumerate(headers):
        # Both readings: 'ACoS' and 'RoAS' split into nonsense as camelCase.
        words = (set(_words(header).split()) | set(_words(header, camel=False).split())) & RATIO_WORDS
        if header.strip() and words:
            skipped[index] = (WHY_RATIO.format(words=", ".join(sorted(words))), 0.9)
        elif header.strip() and profiles[index]["kind"] == "percent":
            skipped[index] = (WHY_PERCENT, 0.9)
    return skipped


def _candidates(headers: list[str], profiles: list[dict], skipped: dict, kind: str) \
        -> tuple[list[_Candidate], dict[int, str]]:
    """Every (header, field) pair whose name is close enough and whose values agree, best first; and, per
    header, why a close name was refused."""
    builtin_ignored = _vocabulary(kind)[1]
    candidates: list[_Candidate] = []
    near_misses: dict[int, str] = {}
    for index, header in enumerate(headers):
        if not header.strip() or index in skipped:
            continue
        for field_name in sorted(FIELDS[kind]):
            similarity = _header_similarity(header, field_name, kind)
            if similarity.score < MIN_HEADER_SIMILARITY:
                continue
            agreement, read_as = _agreement(field_name, profiles[index])
            if agreement < MIN_AGREEMENT:
                near_misses.setdefault(index, WHY_VALUES_DISAGREE.format(
                    field=field_name, similarity=similarity.score, kind=profiles[index]["kind"]))
                continue
            score = similarity.score * (0.6 + 0.4 * agreement)
            if normalize_header(header) in builtin_ignored and similarity.score < 1.0:
                score *= BUILTIN_IGNORED_PENALTY
            if score >= MIN_SCORE:
                candidates.append(_Candidate(round(score, 3), index, field_name, similarity, read_as))
    candidates.sort(key=lambda c: (-c.score, c.index, c.field))
    return candidates, near_misses


def _assign(candidates: list[_Candidate], headers: list[str], skipped: dict) \
        -> tuple[dict[str, _Candidate], dict[int, str]]:
    """Each header feeds one field and each field takes one header, the best-scoring pairs first. A header that
    differs from a chosen one only by its attribution window is that figure's other window, never another field.
    Returns field → candidate and header index → the field whose other window it is."""
    chosen: dict[str, _Candidate] = {}
    variants: dict[int, str] = {}
    taken: set[int] = set()
    for candidate in candidates:
        if candidate.index in taken:
            continue
        primary = _window_variant_of(candidate.index, headers, chosen)
        if primary is not None:
            variants[candidate.index] = primary
            taken.add(candidate.index)
        elif candidate.field not in chosen:
            chosen[candidate.field] = candidate
            taken.add(candidate.index)
    for index in range(len(headers)):
        if index not in taken and index not in skipped and headers[index].strip():
            primary = _window_variant_of(index, headers, chosen)
            if primary is not None:
                variants[index] = primary
    return chosen, variants


def _other_windows(variants: dict[int, str], chosen: dict[str, _Candidate], headers: list[str],
                   profiles: list[dict], skipped: dict) -> tuple[dict[str, dict[str, dict]], dict[int, tuple]]:
    """Other windows of a mapped figure: extra windows where RMIS keeps them (sales, orders, units), ignored
    otherwise. Returns the spec's extra_windows and index → (field, transform, why) for the column table."""
    extra_windows: dict[str, dict[str, dict]] = {}
    extra_columns: dict[int, tuple[str, str, str]] = {}
    for index, field_name in sorted(variants.items()):
        window = header_window(headers[index])
        primary_window = header_window(headers[chosen[field_name].index])
        if field_name in WINDOW_FIELDS and str(window) not in extra_windows.get(field_name, {}):
            _, read_as = _agreement(field_name, profiles[index])
            rule = {"headers": [headers[index]], **_transform(field_name, profiles[index], read_as)}
            extra_windows.setdefault(field_name, {})[str(window)] = rule
            extra_columns[index] = (field_name, rule["transform"], WHY_EXTRA_WINDOW.format(
                days=window, field=field_name, primary=primary_window))
        else:
            skipped[index] = (WHY_OTHER_WINDOW.format(field=field_name, days=window), chosen[field_name].score)
    return extra_windows, extra_columns


def _document(*, name: str, network: str, kind: str, headers: list[str], profiles: list[dict],
              chosen: dict[str, _Candidate], extra_windows: dict, skipped: dict, notes: list[str]) \
        -> tuple[dict, list[str]]:
    """The spec document, in the built-in specs' layout, and the required fields it could not map."""
    columns = {field_name: {"headers": [headers[candidate.index]],
                            **_transform(field_name, profiles[candidate.index], candidate.read_as)}
               for field_name, candidate in sorted(chosen.items(), key=lambda item: item[1].index)}
    document: dict = {"name": name, "version": 1, "network": network, "kind": kind,
                      "title": f"{name} (suggested from {sum(1 for h in headers if h.strip())} columns)"}
    if kind == SpecKind.AD_EVENTS:
        document["attribution"] = _attribution(chosen, headers, notes)
    if kind in (SpecKind.AD_EVENTS, SpecKind.SALES):
        document["product_id_type"] = _product_id_type(chosen.get("product_id"), network)
    document["columns"] = columns
    if extra_windows:
        document["extra_windows"] = extra_windows
    if kind in (SpecKind.AD_EVENTS, SpecKind.SALES):
        document["constants"] = {"currency": _currency(chosen, profiles, notes)}
    document["ignored"] = [headers[index] for index in sorted(skipped)]
    mapped = set(columns) | set(document.get("constants", {}))
    document["required"] = [field_name for field_name in REQUIRED[kind] if field_name in mapped]
    if kind == SpecKind.AD_EVENTS:
        document["placement"] = {"default": "other"}
    return document, [field_name for field_name in REQUIRED[kind] if field_name not in mapped]


def _column_table(headers: list[str], profiles: list[dict], document: dict, chosen: dict[str, _Candidate],
                  candidates: list[_Candidate], near_misses: dict[int, str], extra_columns: dict[int, tuple],
                  skipped: dict) -> list[dict]:
    """One row per non-blank header for the preview: where it goes, through what, how sure, and why."""
    by_index = {candidate.index: (field_name, candidate) for field_name, candidate in chosen.items()}
    best_refused: dict[int, _Candidate] = {}
    for candidate in candidates:
        best_refused.setdefault(candidate.index, candidate)
    table = []
    for index, header in enumerate(headers):
        if not header.strip():
            continue
        profile = profiles[index]
        row = {"header": header, "field": None, "transform": None, "confidence": 0.0, "why": WHY_NOTHING,
               "profile": profile, "status": "unmapped"}
        if index in by_index:
            field_name, candidate = by_index[index]
            why = (f"{candidate.similarity.describe(field_name)}; "
                   f"values {candidate.read_as} ({profile['fits'].get(candidate.read_as, 0):.0%})")
            if field_name == "attributed_sales" and header_window(header):
                why += f"; attribution window {header_window(header)} days from the header"
            row |= {"field": field_name, "transform": document["columns"][field_name]["transform"],
                    "confidence": candidate.score, "why": why, "status": "mapped"}
        elif index in extra_columns:
            field_name, transform, why = extra_columns[index]
            row |= {"field": field_name, "transform": transform, "confidence": chosen[field_name].score,
                    "why": why, "status": "extra_window"}
        elif index in skipped:
            why, confidence = skipped[index]
            row |= {"confidence": confidence, "why": why, "status": "ignored"}
        elif index in best_refused:
            field_name = best_refused[index].field
            row["why"] = WHY_TAKEN.format(field=field_name, header=headers[chosen[field_name].index])
        elif index in near_misses:
            row["why"] = near_misses[index]
        table.append(row)
    return table


def _window_variant_of(index: int, headers: list[str], chosen: dict[str, _Candidate]) -> str | None:
    """The chosen field whose header says the same as this one but for another attribution window, if any."""
    window = header_window(headers[index])
    if window is None:
        return None
    tokens = _tokens(headers[index])
    for field_name, candidate in sorted(chosen.items()):
        primary = headers[candidate.index]
        other = header_window(primary)
        if other is not None and other != window and _tokens(primary) == tokens:
            return field_name
    return None


def _values_only(chosen: dict[str, _Candidate], taken: set[int], skipped: dict, profiles: list[dict],
                 headers: list[str], fields: list[str]) -> None:
    """Dates and product codes are recognisable by their values alone: map the one column that has them."""
    for field_name, kinds in (("date", {"date"}), ("product_id", {"gtin_like", "asin_like"}), ("gtin", {"gtin_like"}),
                              ("asin", {"asin_like"})):
        if field_name not in fields or field_name in chosen:
            continue
        matches = [index for index, profile in enumerate(profiles) if profile["kind"] in kinds
                   and index not in taken and index not in skipped and headers[index].strip()]
        if len(matches) == 1:
            index = matches[0]
            share = profiles[index]["share"]
            chosen[field_name] = _Candidate(round(0.5 * share, 3), index, field_name, _Similarity(0.0, None),
                                            profiles[index]["kind"])
            taken.add(index)


def _attribution(chosen: dict[str, _Candidate], headers: list[str], notes: list[str]) -> dict:
    """The window from the figure's header, else from the built-in spec the header belongs to, else assumed;
    scope and model from that spec when every spec using the header agrees."""
    window = None
    for field_name in WINDOW_FIELDS:
        if field_name in chosen and window is None:
            window = header_window(headers[chosen[field_name].index])
    donors = []
    sales = chosen.get("attributed_sales")
    if sales is not None and sales.similarity.score == 1.0 and sales.similarity.name is not None:
        by_name = {spec.name: spec for spec in builtin_specs()}
        donors = [by_name[spec_name].attribution for spec_name in sales.similarity.name.sources]
        if sales.similarity.name.pattern is not None:
            normalized = normalize_header(headers[sales.index])
            donors = [spec.attribution for spec in builtin_specs() for rule in spec.columns
                      if rule.field == "attributed_sales" and rule.header_regex is not None
                      and rule.header_regex.match(normalized)]
    donor_windows = {donor.get("window_days") for donor in donors}
    if window is None and len(donor_windows) == 1 and None not in donor_windows:
        window = donor_windows.pop()
    if window is None:
        window = DEFAULT_WINDOW_DAYS
        notes.append(WINDOW_ASSUMED.format(days=window))
    kinds = {(donor.get("scope", "click"), donor.get("model", "last_touch")) for donor in donors}
    scope, model = kinds.pop() if len(kinds) == 1 else ("click", "last_touch")
    if not donors or len(kinds) > 1:
        notes.append(SCOPE_ASSUMED.format(scope=scope, model=model))
    return {"window_days": window, "scope": scope, "model": model}


def _product_id_type(candidate: _Candidate | None, network: str) -> str:
    if candidate is None or candidate.read_as == "gtin_like":
        return "gtin"
    if candidate.read_as == "asin_like":
        return "asin"
    return "walmart_item_id" if network == "walmart" else "retailer_product_id"


def _currency(chosen: dict[str, _Candidate], profiles: list[dict], notes: list[str]) -> str:
    found = Counter(profiles[candidate.index]["currency"] for candidate in chosen.values()
                    if "currency" in profiles[candidate.index])
    if found:
        return found.most_common(1)[0][0]
    if "currency" not in chosen:
        notes.append(CURRENCY_ASSUMED.format(currency="USD"))
    return "USD"


def _overall(chosen: dict[str, _Candidate], table: list[dict], kind: str, missing: list[str]) -> float:
    """Mean confidence of the mapped columns, scaled by how many required fields and columns are explained."""
    if not chosen:
        return 0.0
    mean = sum(candidate.score for candidate in chosen.values()) / len(chosen)
    coverage = 1 - len(missing) / len(REQUIRED[kind])
    explained = sum(1 for row in table if row["status"] != "unmapped") / max(1, len(table))
    return round(mean * coverage * (0.7 + 0.3 * explained), 3)
