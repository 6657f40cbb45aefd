"""The draft spec for an export no spec matches: headers assigned to fields, the spec document built and
checked, and the column table the preview shows. The draft is for a user to confirm or edit.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import polars as pl

from campaigns.harmonize.readers import LINE_COLUMN, SourceFile, UnreadableFile
from campaigns.harmonize.specs import FIELDS, SpecError, builtin_specs, normalize_header, spec_from_document
from campaigns.harmonize.suggest.profile import profile_column
from campaigns.harmonize.suggest.vocabulary import (
    RATIO_WORDS,
    _agreement,
    _header_similarity,
    _Similarity,
    _tokens,
    _transform,
    _vocabulary,
    _words,
    header_window,
)
from campaigns.models import SpecKind

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
