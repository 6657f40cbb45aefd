"""Mapping specs as data: validation of a spec document, header matching, and format detection.

A spec says, for one source format, which header feeds which RMIS field through which transform, what
attribution the figures carry (from the header, a constant or a column), and what the file must contain.
Built-in specs ship as JSON in `specs/`; tenants add their own (MappingSpec rows) without code.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from campaigns.harmonize.transforms import TRANSFORMS
from campaigns.models import AttributionModel, AttributionScope, Placement, SpecKind

SPECS_DIR = Path(__file__).resolve().parent / "specs"

# The RMIS fields each kind of file can fill.
FIELDS: dict[str, set[str]] = {
    SpecKind.AD_EVENTS: {
        "date", "account", "campaign_id", "campaign_name", "ad_group_id", "ad_group_name", "ad_id",
        "placement_raw", "environment", "audience_segment_id", "audience_name", "product_id", "keyword", "search_term",
        "match_type", "impressions", "clicks", "spend", "currency", "attributed_sales", "attributed_orders",
        "attributed_units", "same_sku_sales", "other_sku_sales", "ntb_sales", "attribution_window_days",
        "attribution_scope", "attribution_model",
    },
    SpecKind.CATALOG: {
        "gtin", "upc", "ean", "asin", "walmart_item_id", "retailer_product_id", "brand", "name", "category",
        "size", "price", "unit_cost",
    },
    SpecKind.SALES: {"date", "product_id", "retailer", "region", "units", "revenue", "on_hand", "currency"},
}
PRODUCT_ID_TYPES = ("gtin", "asin", "walmart_item_id", "retailer_product_id")
MIN_CONFIDENCE = 0.6


class SpecError(ValueError):
    """A spec document is invalid; `errors` maps a JSON path to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))
        self.errors = errors


def normalize_header(header: str) -> str:
    """Case, width, BOM and whitespace drift removed: 'Total Advertising Cost of Sales (ACoS) ' → '...(acos)'."""
    text = unicodedata.normalize("NFKC", header).replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip().casefold()


@dataclass(frozen=True)
class ColumnRule:
    field: str
    headers: tuple[str, ...]  # normalized
    header_regex: re.Pattern | None
    transform: str
    options: dict

    def match(self, normalized: str) -> re.Match | bool | None:
        if normalized in self.headers:
            return True
        return self.header_regex.match(normalized) if self.header_regex else None


@dataclass
class Spec:
    name: str
    version: int
    network: str
    kind: str
    title: str
    columns: list[ColumnRule]
    constants: dict[str, Any]
    required: list[str]
    ignored: tuple[str, ...]
    product_id_type: str
    attribution: dict[str, Any]
    extra_windows: dict[str, dict[str, ColumnRule]]
    placement: dict[str, Any]
    decimal_comma: bool | None
    max_reject_share: float | None
    document: dict = field(repr=False, default_factory=dict)
    builtin: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


@dataclass
class ColumnPlan:
    """How one file's headers map onto a spec: field → source header, plus what the headers told us."""

    spec: Spec
    fields: dict[str, str]  # RMIS field → source header (as in the file)
    window_from_header: int | None
    extra_windows: dict[str, dict[int, str]]  # field → {window days → source header}
    unmatched_headers: list[str]
    missing_required: list[str]
    score: float
    runner_up: dict | None = None  # the next-best spec when detected automatically: how clear the choice was

    def describe(self) -> dict:
        return {"spec": self.spec.name, "version": self.spec.version, "confidence": round(self.score, 3),
                "fields": self.fields, "unmatched_headers": self.unmatched_headers}


def _rule(field_name: str, body: dict, path: str, errors: dict[str, str]) -> ColumnRule | None:
    if not isinstance(body, dict):
        errors[path] = "must be an object with headers and transform"
        return None
    headers = body.get("headers", [])
    if isinstance(headers, str):
        headers = [headers]
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        errors[f"{path}.headers"] = "must be a list of header names"
        headers = []
    regex = None
    if body.get("header_regex"):
        try:
            regex = re.compile(body["header_regex"], re.IGNORECASE)
        except re.error as exc:
            errors[f"{path}.header_regex"] = f"invalid regular expression: {exc}"
    if not headers and regex is None:
        errors[path] = "needs headers or header_regex"
    transform = body.get("transform", "text")
    if transform not in TRANSFORMS:
        errors[f"{path}.transform"] = f"unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}"
    options = {key: value for key, value in body.items() if key not in ("headers", "header_regex", "transform")}
    return ColumnRule(field=field_name, headers=tuple(normalize_header(h) for h in headers), header_regex=regex,
                      transform=transform, options=options)


def spec_from_document(document: dict, *, builtin: bool = False) -> Spec:
    """Validate a spec document and compile it; raises SpecError naming every problem."""
    errors: dict[str, str] = {}
    if not isinstance(document, dict):
        raise SpecError({"$": "a spec is a JSON object"})
    name = document.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,99}", name or ""):
        errors["name"] = "required: lower-case letters, digits, '-' or '_' (2–100 characters)"
    version = document.get("version", 1)
    if not isinstance(version, int) or version < 1:
        errors["version"] = "must be a positive integer"
    network = document.get("network")
    if not isinstance(network, str) or not re.fullmatch(r"[a-z0-9_-]{2,32}", network or ""):
        errors["network"] = "required: a lower-case network key such as 'amazon'"
    kind = document.get("kind", SpecKind.AD_EVENTS)
    if kind not in SpecKind.values:
        errors["kind"] = f"one of {', '.join(SpecKind.values)}"
        kind = SpecKind.AD_EVENTS
    allowed = FIELDS[kind]
    columns: list[ColumnRule] = []
    raw_columns = document.get("columns")
    if not isinstance(raw_columns, dict) or not raw_columns:
        errors["columns"] = "required: an object of RMIS field → {headers, transform}"
        raw_columns = {}
    for field_name, body in raw_columns.items():
        if field_name not in allowed:
            errors[f"columns.{field_name}"] = f"not an RMIS field for {kind} files"
            continue
        rule = _rule(field_name, body, f"columns.{field_name}", errors)
        if rule:
            columns.append(rule)
    constants = document.get("constants", {}) or {}
    if not isinstance(constants, dict):
        errors["constants"] = "must be an object of RMIS field → value"
        constants = {}
    for field_name in constants:
        if field_name not in allowed:
            errors[f"constants.{field_name}"] = f"not an RMIS field for {kind} files"
    required = document.get("required", [])
    mapped = {rule.field for rule in columns} | set(constants)
    for field_name in required if isinstance(required, list) else []:
        if field_name not in mapped:
            errors[f"required.{field_name}"] = "required but neither a column nor a constant maps it"
    attribution = document.get("attribution", {}) or {}
    if kind == SpecKind.AD_EVENTS:
        if attribution.get("scope", AttributionScope.CLICK) not in AttributionScope.values:
            errors["attribution.scope"] = f"one of {', '.join(AttributionScope.values)}"
        if attribution.get("model", AttributionModel.LAST_TOUCH) not in AttributionModel.values:
            errors["attribution.model"] = f"one of {', '.join(AttributionModel.values)}"
        window = attribution.get("window_days")
        if window is not None and (not isinstance(window, int) or window < 1):
            errors["attribution.window_days"] = "a positive number of days"
    extra_windows: dict[str, dict[str, ColumnRule]] = {}
    for field_name, windows in (document.get("extra_windows") or {}).items():
        if field_name not in ("attributed_sales", "attributed_orders", "attributed_units"):
            errors[f"extra_windows.{field_name}"] = "only attributed_sales, _orders and _units have windows"
            continue
        extra_windows[field_name] = {}
        for days, body in windows.items():
            if not str(days).isdigit():
                errors[f"extra_windows.{field_name}.{days}"] = "keys are window lengths in days"
                continue
            rule = _rule(field_name, body, f"extra_windows.{field_name}.{days}", errors)
            if rule:
                extra_windows[field_name][str(int(days))] = rule
    placement = document.get("placement", {}) or {}
    for raw, canonical in (placement.get("map") or {}).items():
        if canonical not in Placement.values:
            errors[f"placement.map.{raw}"] = f"one of {', '.join(Placement.values)}"
    if placement.get("default", Placement.OTHER) not in Placement.values:
        errors["placement.default"] = f"one of {', '.join(Placement.values)}"
    for index, rule in enumerate(placement.get("derive") or []):
        if not isinstance(rule, dict) or rule.get("then") not in Placement.values or "field" not in rule:
            errors[f"placement.derive.{index}"] = "needs field, equals and then (a canonical placement)"
    product_id_type = document.get("product_id_type", "gtin")
    if product_id_type not in PRODUCT_ID_TYPES:
        errors["product_id_type"] = f"one of {', '.join(PRODUCT_ID_TYPES)}"
    share = document.get("max_reject_share")
    if share is not None and not (isinstance(share, int | float) and 0 <= share <= 1):
        errors["max_reject_share"] = "a share between 0 and 1"
    decimal_comma = document.get("decimal_comma")
    if decimal_comma not in (None, True, False):
        errors["decimal_comma"] = "true, false or absent (detect)"
    if errors:
        raise SpecError(errors)
    return Spec(
        name=name, version=version, network=network, kind=kind, title=document.get("title", name),
        columns=columns, constants=constants, required=list(required),
        ignored=tuple(normalize_header(h) for h in document.get("ignored", [])),
        product_id_type=product_id_type, attribution=attribution, extra_windows=extra_windows,
        placement=placement, decimal_comma=decimal_comma, max_reject_share=share, document=document,
        builtin=builtin,
    )


@cache
def builtin_specs() -> tuple[Spec, ...]:
    specs = []
    for path in sorted(SPECS_DIR.glob("*.json")):
        specs.append(spec_from_document(json.loads(path.read_text()), builtin=True))
    return tuple(specs)


def plan_columns(spec: Spec, headers: list[str]) -> ColumnPlan:
    """Match a file's headers against a spec and score how well the spec explains the file."""
    normalized = [normalize_header(h) for h in headers]
    fields: dict[str, str] = {}
    used: set[int] = set()
    window_from_header: int | None = None
    for rule in spec.columns:
        for index, header in enumerate(normalized):
            if index in used:
                continue
            match = rule.match(header)
            if match:
                fields[rule.field] = headers[index]
                used.add(index)
                if isinstance(match, re.Match):
                    digits = [group for group in match.groups() if group and group.isdigit()]
                    if digits:
                        window_from_header = int(digits[0])
                break
    extra: dict[str, dict[int, str]] = {}
    for field_name, windows in spec.extra_windows.items():
        for days, rule in windows.items():
            for index, header in enumerate(normalized):
                if index not in used and rule.match(header):
                    extra.setdefault(field_name, {})[int(days)] = headers[index]
                    used.add(index)
                    break
    ignored = {i for i, header in enumerate(normalized) if header in spec.ignored}
    explained = used | ignored
    real = [i for i, header in enumerate(normalized) if header]
    unmatched = [headers[i] for i in real if i not in explained]
    missing = [name for name in spec.required if name not in fields and name not in spec.constants]
    coverage = len([i for i in real if i in explained]) / max(1, len(real))
    completeness = len(fields) / max(1, len(spec.columns))
    score = 0.0 if missing else 0.6 * coverage + 0.4 * completeness
    return ColumnPlan(spec=spec, fields=fields, window_from_header=window_from_header, extra_windows=extra,
                      unmatched_headers=unmatched, missing_required=missing, score=score)


def detect_spec(headers: list[str], specs: list[Spec]) -> tuple[ColumnPlan | None, list[ColumnPlan]]:
    """The best-scoring spec for these headers (None when nothing reaches MIN_CONFIDENCE) and the ranking."""
    ranking = sorted((plan_columns(spec, headers) for spec in specs), key=lambda plan: -plan.score)
    best = ranking[0] if ranking and ranking[0].score >= MIN_CONFIDENCE else None
    return best, ranking
