"""Header vocabulary for spec suggestions: every name each RMIS field goes by, how close a header comes to
them, and what each field's values must look like.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from campaigns.harmonize.specs import builtin_specs, normalize_header
from campaigns.harmonize.transforms import DEFAULT_DATE_FORMATS
from campaigns.models import SpecKind

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
