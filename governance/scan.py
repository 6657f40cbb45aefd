"""The governance agent's deterministic core: scan a text (a creative, an agent's answer), a plan or an export for
personal data, retailer policy violations and k-anonymity problems, and return findings. The agents call it on
every output before a user sees it; `POST /api/v1/governance/scan` exposes it.

Findings are plain dicts: {"kind": "pii" | "policy" | "k_anonymity" | "identifier_column", "severity": "block" |
"warn" | "info", "where": a path into the input, "message", and kind-specific fields}. Raw personal data is never
echoed: a PII finding gives its type and span, not the value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from governance.pii.detect import find_pii
from governance.pii.redact import check_text

KINDS = ("text", "plan", "export")
# Columns that identify a shopper: an export carrying one is user-level, whatever its rows say.
IDENTIFIER_COLUMNS = frozenset({"user_key", "user_id", "shopper_id", "customer_id", "email", "phone", "ssn",
                                "card_number", "ip", "ip_address", "device_id", "address"})
COUNT_COLUMNS = ("__users", "users", "shoppers", "distinct_users", "reach", "count")
MAX_EXPORT_ROWS = 100_000


class ScanError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def scan(kind: str, payload: Any, *, retailer: str = "", placement: str = "", category: str = "",
         brand: str = "", k: int = 50) -> dict:
    if kind not in KINDS:
        raise ScanError("kind", f"must be one of {', '.join(KINDS)}")
    if kind == "text":
        if not isinstance(payload, str):
            raise ScanError("text", "must be a string")
        findings = scan_text(payload, retailer=retailer, placement=placement, category=category, brand=brand)
    elif kind == "plan":
        if not isinstance(payload, Mapping):
            raise ScanError("plan", "must be a JSON object (a plan or an agent's structured answer)")
        findings = scan_strings(payload)
    else:
        findings = scan_export(payload, k=k)
    counts = {severity: sum(f["severity"] == severity for f in findings) for severity in ("block", "warn", "info")}
    return {"kind": kind, "passed": counts["block"] == 0, "summary": counts, "findings": findings}


def scan_text(text: str, *, where: str = "text", retailer: str = "", placement: str = "", category: str = "",
              brand: str = "") -> list[dict]:
    try:
        check_text(text)
    except ValueError as exc:
        raise ScanError(where, str(exc).partition(": ")[2] or str(exc)) from exc
    findings = [_pii(finding, where) for finding in find_pii(text)]
    if retailer:
        findings += _policy(text, where, retailer=retailer, placement=placement, category=category, brand=brand)
    return findings


def scan_strings(value: Any, where: str = "$") -> list[dict]:
    """PII in every string of a nested structure (a plan, a rationale, a tool result), with its JSON path."""
    if isinstance(value, str):
        return [_pii(finding, where) for finding in find_pii(value)] if value else []
    if isinstance(value, Mapping):
        return [f for key, item in value.items() for f in scan_strings(item, f"{where}.{key}")]
    if isinstance(value, list | tuple):
        return [f for i, item in enumerate(value) for f in scan_strings(item, f"{where}[{i}]")]
    return []


def scan_export(export: Any, *, k: int = 50) -> list[dict]:
    """An export (CSV text, or {"columns": [...], "rows": [[...]]} as the clean room answers): identifier columns,
    rows whose distinct-user count is under k, and PII in any cell."""
    columns, rows = _table(export)
    findings = [{"kind": "identifier_column", "severity": "block", "where": f"columns[{i}]", "column": name,
                 "message": f"{name!r} identifies shoppers: an export must hold aggregates only"}
                for i, name in enumerate(columns) if name.strip().lower() in IDENTIFIER_COLUMNS]
    counted = next((i for name in COUNT_COLUMNS for i, column in enumerate(columns) if column.lower() == name), None)
    for r, row in enumerate(rows):
        if counted is not None:
            try:
                users = float(row[counted])
            except (TypeError, ValueError, IndexError):
                users = None
            if users is not None and users < k:
                findings.append({"kind": "k_anonymity", "severity": "block", "where": f"rows[{r}]",
                                 "users": users, "k": k,
                                 "message": f"row {r} is backed by {users:g} shoppers, fewer than k = {k}"})
        findings += [f for c, cell in enumerate(row) if isinstance(cell, str)
                     for f in scan_strings(cell, f"rows[{r}][{c}]")]
    if counted is None and rows:
        findings.append({"kind": "k_anonymity", "severity": "warn", "where": "columns",
                         "message": "no distinct-user count column (" + ", ".join(COUNT_COLUMNS) + "): k-anonymity "
                                    "cannot be checked"})
    return findings


def _table(export: Any) -> tuple[list[str], list[list]]:
    if isinstance(export, str):
        try:
            check_text(export)
        except ValueError as exc:
            raise ScanError("export", str(exc).partition(": ")[2] or str(exc)) from exc
        parsed = list(csv.reader(io.StringIO(export)))
        if not parsed:
            raise ScanError("export", "is empty")
        columns, rows = parsed[0], parsed[1:]
    elif isinstance(export, Mapping) and isinstance(export.get("columns"), list) and isinstance(
            export.get("rows"), list):
        columns, rows = [str(c) for c in export["columns"]], [list(r) for r in export["rows"] if isinstance(r, list)]
    else:
        raise ScanError("export", 'must be CSV text or {"columns": [...], "rows": [[...], ...]}')
    if len(rows) > MAX_EXPORT_ROWS:
        raise ScanError("export", f"has {len(rows):,} rows; at most {MAX_EXPORT_ROWS:,} are scanned")
    return columns, rows


def _pii(finding, where: str) -> dict:
    return {"kind": "pii", "severity": "block", "where": where, "type": finding.type, "start": finding.start,
            "end": finding.end, "message": f"{finding.type} at {where}[{finding.start}:{finding.end}]"}


def _policy(text: str, where: str, **context: str) -> Iterable[dict]:
    from governance.policies.selectors import policy_compiled, policy_set_active, retailer_by_slug

    retailer = retailer_by_slug(slug=context.pop("retailer"))
    policy_set = policy_set_active(retailer=retailer)
    if policy_set is None:
        return [{"kind": "policy", "severity": "info", "where": where,
                 "message": f"{retailer.name} has no active policy set: nothing to check against"}]
    return [{**violation, "rule_kind": violation["kind"], "kind": "policy", "where": where}
            for violation in _check(policy_compiled(policy_set=policy_set), text, **context)]


def _check(policy, text: str, *, placement: str, category: str, brand: str) -> list[dict]:
    from governance.policies.checker import check_creative

    return [v.as_dict() for v in check_creative(policy, placement=placement, category=category, brand=brand,
                                                 text=text)]
