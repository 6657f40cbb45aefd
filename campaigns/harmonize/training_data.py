"""The retailer adapter's schema-mapping data: a report column (network, header, a few values) in, the RMIS field and
transform the built-in specs give that header out, as JSON. Built from the specs themselves, so it needs no database.

Every header a built-in spec names (its header lists, the real headers its patterns match, the headers it ignores) is
written the way exports drift: case, separators, unit and currency suffixes, abbreviations, window prefixes, BOMs.
Variation templates are split into families as the planner's sentence frames are: training uses one family, the
held-out set only the other, so an adapter is scored on spellings unlike any it trained on. The answer is still what
the spec says for the header the variant was made from: a variant never changes what a column is.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaigns.harmonize.specs import Spec, builtin_specs, normalize_header
from campaigns.harmonize.transforms import TRANSFORMS
from campaigns.models import SpecKind
from inference.training.datasets import ToolCallCase, TrainingData

IGNORE = "ignore"
# Short on purpose: every training step runs the prompt through the model.
MAPPING_SYSTEM = "Map this report column to its RMIS field and transform. Answer as JSON."

# Real headers that the specs' patterns match, as the networks write them (RMN_FORMATS.md; trailing spaces included).
PATTERN_HEADERS = (
    "7 Day Total Sales ", "14 Day Total Sales ", "7 Day Total Orders (#)", "14 Day Total Orders (#)",
    "7 Day Total Units (#)", "14 Day Total Units (#)", "7 Day Advertised SKU Sales ", "14 Day Advertised SKU Sales ",
    "7 Day Other SKU Sales ", "14 Day Other SKU Sales ", "14 Day New-to-brand Sales", "Vendite totali (€) 7 giorni",
    "Vendite totali (€) 14 giorni", "Umsatz insgesamt (€) (7 Tage)", "Umsatz insgesamt (€) (14 Tage)",
)


@dataclass(frozen=True)
class Column:
    """A header some built-in spec knows, with the answer that spec gives it."""

    network: str
    kind: str
    header: str  # as the spec (or the real export) writes it
    field: str  # an RMIS field, or IGNORE
    transform: str | None  # None for an ignored column
    spec: str
    options: dict  # the rule's options (date formats), for drawing realistic values

    @property
    def answer(self) -> dict:
        return {"field": self.field, "transform": self.transform}


@dataclass(frozen=True)
class Mapping:
    text: str  # the user message
    column: Column
    header: str  # the header as this example writes it
    template: str  # the variation template's id: train and held-out never share one

    @property
    def answer(self) -> dict:
        return self.column.answer


def spec_answer(spec: Spec, header: str) -> tuple[str, str | None, dict] | None:
    """What `spec` does with a column of this name on its own, matched as the harmonizer matches it (columns first,
    then the extra attribution windows, then the ignored list): (field, transform, options), or None if it does not
    know the header."""
    normalized = normalize_header(header)
    for rule in spec.columns:
        if rule.match(normalized):
            return rule.field, rule.transform, rule.options
    for windows in spec.extra_windows.values():
        for rule in windows.values():
            if rule.match(normalized):
                return rule.field, rule.transform, rule.options
    if normalized in spec.ignored:
        return IGNORE, None, {}
    return None


def _key(header: str) -> str:
    """A header without case, separators or punctuation: 'Ad Group Name', 'ad_group_name' → 'adgroupname'."""
    return "".join(re.findall(r"[^\W_]+", normalize_header(header)))


def known_columns() -> list[Column]:
    """Every header the built-in specs name, once per network and kind. A header that two specs of one network answer
    differently says nothing on its own and is left out."""
    found: dict[tuple[str, str, str], Column] = {}
    conflicting: set[tuple[str, str, str]] = set()
    for spec in builtin_specs():
        document = spec.document
        written = [header for body in document["columns"].values() for header in _listed(body.get("headers"))]
        written += [header for windows in (document.get("extra_windows") or {}).values()
                    for body in windows.values() for header in _listed(body.get("headers"))]
        written += list(document.get("ignored", []))
        written += [header for header in PATTERN_HEADERS if spec_answer(spec, header)]
        for header in written:
            field, transform, options = spec_answer(spec, header)
            column = Column(spec.network, spec.kind, header, field, transform, spec.name, options)
            key = (spec.network, spec.kind, normalize_header(header))
            if key in found and found[key].answer != column.answer:
                conflicting.add(key)
            found.setdefault(key, column)
    return [column for key, column in sorted(found.items()) if key not in conflicting]


def _listed(headers: Any) -> list[str]:
    return [headers] if isinstance(headers, str) else list(headers or [])


def _fields_used() -> list[str]:
    fields = {rule.field for spec in builtin_specs() for rule in spec.columns}
    return sorted(fields)


# The JSON schema of the answer: decoding is constrained to it, so every answer names a real field and transform.
MAPPING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"field": {"enum": [*_fields_used(), IGNORE]}, "transform": {"enum": [*TRANSFORMS, None]}},
    "required": ["field", "transform"],
    "additionalProperties": False,
}


# -- sample values, drawn for what the column holds ---------------------------------------------------------------

_PRODUCT_NAMES = ("Honey Nut Toasted Oats 12 oz", "Sea Salt Kettle Potato Chips", "Cold Brew Coffee 48 fl oz",
                  "Crème Brûlée Oat Clusters", "Margherita Pizza", "Creamy Peanut Butter 16 oz", "Pretzel Twists")
_PLACEMENTS = {"amazon": ("Top of Search on-Amazon", "Detail Page on-Amazon", "Other on-Amazon", "Off Amazon"),
               "walmart": ("Buy-Box", "Search Ingrid", "Home Page", "Stock Up", "Search Carousel"),
               "instacart": ("InGrid", "InCarousel", "MixedAdsCarousel"),
               "criteo": ("search", "category", "productdetail", "home", "checkout")}
_TEXT_VALUES: dict[str, tuple[str, ...]] = {
    "campaign_name": ("SP - Granola - Exact", "Acme Cereal | Auto", "Q3 Snacks Brand Defense", "BTS 2026 - Chips",
                      "Always On - Beverages"),
    "ad_group_name": ("Exact - Core Terms", "Auto Targeting", "Competitor KWs", "Cereal SKUs", "Broad - Discovery"),
    "keyword": ("granola", "oat cereal", "kettle chips", "cold brew coffee", "peanut butter", "*"),
    "search_term": ("healthy breakfast cereal", "b07xj8c8f5", "chips family size", "*", "oat milk barista"),
    "match_type": ("EXACT", "BROAD", "PHRASE", "exact", "broad", "-"),
    "currency": ("USD", "EUR", "GBP", "CAD"),
    "environment": ("web", "app", "mobile_web", "desktop"),
    "account": ("Amazon.com", "MegaMart", "Acme Foods US", "1187", "Acme Foods - Seller"),
    "brand": ("Acme Foods", "Northfield", "Sunny Valley"),
    "name": _PRODUCT_NAMES,
    "category": ("cereal", "snacks", "beverages", "frozen", "pantry"),
    "size": ("12 oz", "16.9 fl oz", "6 ct", "4 x 11 fl oz"),
    "retailer": ("amazon", "walmart", "instacart", "megamart", "Walmart"),
    "region": ("US-NE", "US-SE", "us-mw", "US-TX"),
}
# What an ignored column holds, from the words of its header (checked in order).
_IGNORED_KINDS = (
    (r"date", "date"), (r"rate|ctr|%|acos|percent", "percent"), (r"roas", "ratio"),
    (r"\bcp[cmo]\b|vcpm|cost per|average.cpc", "unit_money"), (r"channel", "channel"), (r"sales", "money"),
    (r"orders|units|purchases|impressions|views|\(#\)|dpv", "count"), (r"country", "country"),
    (r"cost type", "cost_type"), (r"status", "status"), (r"size", "size"), (r"brand", "brand"), (r"sku", "sku"),
    (r"portfolio", "portfolio"), (r"name|product", "name"), (r"id\b", "id"),
)
_OTHER_TEXT = {"country": ("US", "DE", "IT", "GB"), "cost_type": ("CPC", "vCPM"),
               "status": ("ACTIVE", "PAUSED", "active"), "channel": ("online", "offline", "omni"),
               "sku": ("ACME-GRAN-12", "NF-CHIP-08", "SV-CB-48"), "portfolio": ("Brand Defense", "Always On", "")}


def _value_kind(column: Column) -> str:
    if column.field == IGNORE:
        header = normalize_header(column.header)
        return next((kind for pattern, kind in _IGNORED_KINDS if re.search(pattern, header)), "name")
    if column.transform in ("date", "money", "count", "decimal", "percent"):
        return column.transform
    if column.field in ("campaign_id", "ad_group_id", "product_id", "gtin", "upc", "asin", "walmart_item_id",
                        "retailer_product_id", "placement_raw"):
        return column.field
    return column.field if column.field in _TEXT_VALUES else "name"


def _console(header: str) -> bool:
    """Words as a console download writes them ('Ad Spend'), not an API key ('adSpend', 'event.spend')."""
    return " " in header.strip() or (header[:1].isupper() and header.strip().isalpha())


def _money(rng: random.Random, column: Column) -> str:
    amount = rng.choice([rng.uniform(0, 40), rng.uniform(20, 2500), 0.0])
    if _console(column.header):
        return rng.choice([f"${amount:,.2f}", f"{amount:,.2f}", f"{amount:.2f}"])
    return rng.choice([f"{amount:.2f}", f"{amount:.4f}".rstrip("0").rstrip("."), f"{amount:.2f}"])


def _date(rng: random.Random, column: Column) -> str:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))
    formats = column.options.get("formats") or ["%Y-%m-%d", "%Y-%m-%d", "%m/%d/%Y"]
    return day.strftime(rng.choice(formats))


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(n - 1))


def _id(rng: random.Random, column: Column) -> str:
    if column.network == "instacart":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return _digits(rng, {"amazon": rng.choice([13, 14, 15]), "walmart": rng.choice([6, 7, 9])}.get(column.network, 6))


def _product(rng: random.Random, column: Column) -> str:
    kind = {"asin": "asin", "walmart_item_id": "walmart", "retailer_product_id": "retailer", "gtin": "gtin14",
            "upc": "upc"}.get(column.field, {"amazon": "asin", "walmart": "walmart", "criteo": "retailer"}
                                 .get(column.network, "upc"))
    if kind == "asin":
        return "B0" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))
    if kind == "walmart":
        return _digits(rng, rng.choice([8, 9]))
    if kind == "retailer":
        return rng.choice(["MM-", "", "TCIN-"]) + _digits(rng, rng.choice([6, 8]))
    upc = rng.choice(["0", "7", "8"]) + _digits(rng, 11)
    return upc.zfill(14) if kind == "gtin14" else rng.choice([upc, upc.lstrip("0")])


def _value(rng: random.Random, column: Column) -> str:
    kind = _value_kind(column)
    if kind == "date":
        return _date(rng, column)
    if kind == "money":
        return _money(rng, column)
    if kind == "unit_money":  # a cost per click, order or thousand impressions
        return rng.choice(["$", ""]) + f"{rng.uniform(0.2, 15):.2f}"
    if kind == "count":
        n = rng.choice([rng.randrange(0, 60), rng.randrange(50, 5000), rng.randrange(1000, 200_000)])
        return rng.choice([f"{n:,}", str(n)])
    if kind == "decimal":
        return rng.choice([f"{rng.uniform(0, 30):.2f}", str(rng.randrange(0, 20)), f"{rng.uniform(0, 2):.3f}"])
    if kind == "percent":
        return rng.choice([f"{rng.uniform(0, 40):.2f}%", f"{rng.uniform(0, 0.4):.4f}", ""])
    if kind == "ratio":
        return f"{rng.uniform(0, 12):.2f}"
    if kind in ("campaign_id", "ad_group_id", "id"):
        return _id(rng, column)
    if kind in ("product_id", "gtin", "upc", "asin", "walmart_item_id", "retailer_product_id"):
        return _product(rng, column)
    if kind == "placement_raw":
        return rng.choice(_PLACEMENTS.get(column.network, _PLACEMENTS["criteo"]))
    return rng.choice(_TEXT_VALUES.get(kind) or _OTHER_TEXT.get(kind) or _PRODUCT_NAMES)


def sample_values(rng: random.Random, column: Column, n: int = 3) -> list[str]:
    return [_value(rng, column) for _ in range(n)]


# -- variation templates --------------------------------------------------------------------------------------------
# Each takes (header, column, rng) and returns the header as some export writes it, or None where it does not apply.

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_WINDOWED = ("attributed_sales", "attributed_orders", "attributed_units", "same_sku_sales", "other_sku_sales",
             "ntb_sales")
_ABBREVIATIONS = {"impressions": ("Impr.", "Imps"), "advertised": ("Adv.",), "advertising": ("Adv.",),
                  "attributed": ("Attr.",), "conversion": ("Conv.",), "campaign": ("Camp.",), "quantities": ("Qty",),
                  "average": ("Avg.",), "customer": ("Cust.",), "product": ("Prod.",), "number": ("No.",),
                  "percent": ("Pct",), "keyword": ("Kwd", "KW"), "group": ("Grp",), "total": ("Tot.",),
                  "category": ("Cat.",), "currency": ("Curr.",), "inventory": ("Inv.",), "quantity": ("Qty",)}
_CURRENCY = re.compile(r"[$€£]|\b(?:usd|eur|gbp)\b", re.IGNORECASE)
_WINDOW_PREFIX = re.compile(r"^\s*(\d{1,2}) day (.+?)\s*$", re.IGNORECASE)
_PARENTHETICAL = re.compile(r"^(.+?)\s*\(([^()]+)\)\s*$")


def _words(header: str) -> list[str]:
    # "%" is a word ("% of Orders" is not "of Orders"); "#" and brackets only decorate.
    return re.findall(r"[^\W_]+", _CAMEL.sub(" ", header.strip().replace("%", " pct ")))


def _numeric(column: Column) -> bool:
    return _value_kind(column) in ("money", "count", "decimal")


def _window(column: Column) -> int:
    spec = next(spec for spec in builtin_specs() if spec.name == column.spec)
    return spec.attribution.get("window_days") or 14


def _exact(header: str, column: Column, rng: random.Random) -> str:
    return header


def _lower(header: str, column: Column, rng: random.Random) -> str | None:
    return header.lower() if header.lower() != header else None


def _upper(header: str, column: Column, rng: random.Random) -> str:
    return header.upper()


def _snake(header: str, column: Column, rng: random.Random) -> str | None:
    return "_".join(_words(header)).lower() or None


def _title(header: str, column: Column, rng: random.Random) -> str | None:
    words = _words(header)
    return " ".join(word[:1].upper() + word[1:] for word in words) if len(words) > 1 else None


def _unit_code(header: str, column: Column, rng: random.Random) -> str | None:
    kind = _value_kind(column)
    if kind == "money" and not _CURRENCY.search(header):
        return header.rstrip() + rng.choice([" (USD)", " USD", " - USD", " (usd)"])
    if kind == "count" and "#" not in header:
        return header.rstrip() + rng.choice([" (#)", " #"])
    return None


def _abbreviated(header: str, column: Column, rng: random.Random) -> str | None:
    words = re.split(r"(\W+)", header.strip())
    changed = [rng.choice(_ABBREVIATIONS[word.lower()]) if word.lower() in _ABBREVIATIONS else word for word in words]
    return "".join(changed) if changed != words else None


def _padded(header: str, column: Column, rng: random.Random) -> str:
    return rng.choice([f"\ufeff{header}", f"  {header} ", re.sub(r" ", "  ", header.strip()) + " ", f"{header}\t"])


def _window_prefix(header: str, column: Column, rng: random.Random) -> str | None:
    if column.field not in _WINDOWED or re.search(r"\d", header) or not _console(header):
        return None
    return f"{_window(column)} Day {header.strip()}"


def _camel(header: str, column: Column, rng: random.Random) -> str | None:
    words = _words(header)
    return words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:]) if len(words) > 1 else None


def _kebab(header: str, column: Column, rng: random.Random) -> str | None:
    return "-".join(_words(header)).lower() if len(_words(header)) > 1 else None


def _currency_symbol(header: str, column: Column, rng: random.Random) -> str | None:
    if _value_kind(column) != "money" or _CURRENCY.search(header):
        return None
    return rng.choice([f"{header.strip()} ($)", f"{header.strip()} in $", f"$ {header.strip()}", f"{header.strip()} $"])


def _sum_of(header: str, column: Column, rng: random.Random) -> str | None:
    if not _numeric(column):
        return None
    prefixes = ["Sum of ", "SUM of "] + ([] if header.strip().lower().startswith("total") else ["Total "])
    return rng.choice(prefixes) + header.strip()


def _reordered(header: str, column: Column, rng: random.Random) -> str | None:
    if found := _WINDOW_PREFIX.match(header):
        return rng.choice([f"{found.group(2)} ({found.group(1)} Day)", f"{found.group(2)}, {found.group(1)} Day"])
    if (found := _PARENTHETICAL.match(header)) and re.fullmatch(r"[A-Za-z]{2,}", found.group(2)):
        return rng.choice([f"{found.group(2)} - {found.group(1)}", f"{found.group(2)}: {found.group(1)}"])
    return None


def _window_suffix(header: str, column: Column, rng: random.Random) -> str | None:
    if column.field not in _WINDOWED or re.search(r"\d", header) or not _console(header):
        return None
    days = _window(column)
    return header.strip() + rng.choice([f" ({days}d)", f" - {days} Day", f" {days}D", f" [{days} days]"])


Variation = Callable[[str, Column, random.Random], str | None]
TRAIN_TEMPLATES: dict[str, Variation] = {
    "t-exact": _exact, "t-lower": _lower, "t-upper": _upper, "t-snake": _snake, "t-title": _title,
    "t-unit-code": _unit_code, "t-abbrev": _abbreviated, "t-padded": _padded, "t-window-prefix": _window_prefix,
}
HELD_OUT_TEMPLATES: dict[str, Variation] = {
    "h-camel": _camel, "h-kebab": _kebab, "h-currency-symbol": _currency_symbol, "h-sum-of": _sum_of,
    "h-reorder": _reordered, "h-window-suffix": _window_suffix,
}
TEMPLATES = {**TRAIN_TEMPLATES, **HELD_OUT_TEMPLATES}


def _rivals(columns: list[Column]) -> dict[tuple[str, str, str], set[tuple]]:
    """For each (network, kind, header key): the answers known headers with that key get."""
    rivals: dict[tuple[str, str, str], set[tuple]] = {}
    for column in columns:
        rivals.setdefault((column.network, column.kind, _key(column.header)), set()).add(
            (column.field, column.transform))
    return rivals


def _variant(template: str, column: Column, rng: random.Random, rivals: dict) -> str | None:
    header = TEMPLATES[template](column.header, column, rng)
    if not header or not header.strip():
        return None
    if template.startswith("h-") and normalize_header(header) == normalize_header(column.header):
        return None  # only case or spacing changed: the training family already writes it that way
    # A variant that reads as another known header with a different answer would teach a contradiction.
    answers = rivals.get((column.network, column.kind, _key(header)), set())
    if answers - {(column.field, column.transform)}:
        return None
    return header


def mapping_text(column: Column, header: str, values: list[str]) -> str:
    shown = " | ".join(value if value else "(blank)" for value in values)
    return (f"Network: {column.network}\nFile: {SpecKind(column.kind).label}\n"
            f"Column: {json.dumps(header, ensure_ascii=False)}\nValues: {shown}")


def mapping_set(*, held_out: bool, n: int, seed: int, avoid: set[str] | frozenset[str] = frozenset()) -> list[Mapping]:
    """n examples whose headers are written by the training templates, or by the held-out ones; prompts in `avoid`
    (the training set's, for a held-out set) and repeats are drawn again."""
    rng = random.Random(seed)  # noqa: S311 (data generation, not security)
    columns = known_columns()
    rivals = _rivals(columns)
    templates = sorted(HELD_OUT_TEMPLATES if held_out else TRAIN_TEMPLATES)
    seen = set(avoid)
    examples: list[Mapping] = []
    attempts = 0
    while len(examples) < n:
        attempts += 1
        if attempts > 200 * (n + 10):
            raise RuntimeError(f"could not draw {n} distinct mapping examples")
        # A column first, then one of the templates that apply to it: every column is as likely, and a template
        # that fits few columns (a window prefix) is not forced onto them over and over.
        column = rng.choice(columns)
        written = [(template, header) for template in templates
                   if (header := _variant(template, column, rng, rivals)) is not None]
        if not written:
            continue
        template, header = rng.choice(written)
        text = mapping_text(column, header, sample_values(rng, column, rng.choice([2, 3, 3])))
        if text in seen:
            continue
        seen.add(text)
        examples.append(Mapping(text=text, column=column, header=header, template=template))
    return examples


def answer_json(answer: dict) -> str:
    """The answer as the model is taught to write it: compact JSON, keys in the schema's order."""
    return json.dumps({"field": answer["field"], "transform": answer["transform"]}, separators=(",", ":"))


def canonical_mapping(answer: Any) -> tuple[str, str | None] | None:
    """The (field, transform) pair exact match compares; an ignored column has no transform. None if invalid."""
    if not isinstance(answer, dict) or answer.get("field") not in MAPPING_SCHEMA["properties"]["field"]["enum"]:
        return None
    if answer["field"] == IGNORE:
        return IGNORE, None
    transform = answer.get("transform")
    return (answer["field"], transform) if transform is None or transform in TRANSFORMS else None


def mapping_messages(text: str) -> list[dict]:
    return [{"role": "system", "content": MAPPING_SYSTEM}, {"role": "user", "content": text}]


def mapping_sft_examples(mappings: list[Mapping]) -> list[dict]:
    """Conversational prompt/completion pairs: the column in, the spec's answer as JSON out."""
    return [{"prompt": mapping_messages(m.text),
             "completion": [{"role": "assistant", "content": answer_json(m.answer)}]} for m in mappings]


def mapping_training_data(*, n_train: int, n_held_out: int, seed: int) -> TrainingData:
    train = mapping_set(held_out=False, n=n_train, seed=seed)
    held_out = mapping_set(held_out=True, n=n_held_out, seed=seed + 1, avoid={m.text for m in train})
    return TrainingData(
        train=mapping_sft_examples(train),
        held_out=[ToolCallCase(text=m.text, messages=mapping_messages(m.text), expected=m.answer) for m in held_out],
        schema=MAPPING_SCHEMA, canonical=canonical_mapping,
        train_templates={m.template for m in train}, held_out_templates={m.template for m in held_out},
    )
