"""The governance agent's scan: PII in texts and plans (type and place, never the value), a retailer's policy
violations in copy, and user-level columns or rows under k in exports."""

from __future__ import annotations

import pytest

from governance.scan import ScanError, scan
from tests.conftest import api_client_for


def test_a_text_with_pii_and_a_policy_breach_is_blocked(megamart):
    result = scan("text", "Clinically proven to cure colds! Questions: jane@example.com", retailer="megamart",
                  placement="search", category="cereal")

    assert not result["passed"]
    kinds = {(f["kind"], f.get("type") or f.get("rule_id")) for f in result["findings"]}
    assert ("pii", "email") in kinds
    assert any(kind == "policy" for kind, _ in kinds)
    policy = next(f for f in result["findings"] if f["kind"] == "policy" and f["severity"] == "block")
    assert policy["version"] == 1 and policy["rule_id"] and policy["fix"]
    assert "jane@example.com" not in str(result)


def test_clean_copy_passes():
    result = scan("text", "Crunchy oat clusters with a touch of honey.")
    assert result == {"kind": "text", "passed": True, "summary": {"block": 0, "warn": 0, "info": 0}, "findings": []}


def test_a_plan_is_scanned_string_by_string_with_paths():
    plan = {"rationale": "Call Ann at (415) 555-0132 before moving budget",
            "cells": [{"id": "walmart|search"}, {"note": "card 4111 1111 1111 1111"}]}

    findings = scan("plan", plan)["findings"]

    assert [(f["where"], f["type"]) for f in findings] == [("$.rationale", "phone"), ("$.cells[1].note", "card")]


def test_an_export_with_user_level_columns_or_small_rows_is_blocked():
    export = {"columns": ["region", "user_key", "__users"], "rows": [["US-W", "ab12", 120], ["US-NE", "cd34", 12]]}

    findings = scan("export", export, k=50)["findings"]

    assert [(f["kind"], f["where"]) for f in findings] == [("identifier_column", "columns[1]"),
                                                           ("k_anonymity", "rows[1]")]


def test_a_csv_export_without_a_user_count_is_flagged():
    findings = scan("export", "region,sales\nUS-W,1200\n")["findings"]
    assert [(f["kind"], f["severity"]) for f in findings] == [("k_anonymity", "warn")]


@pytest.mark.parametrize(("kind", "payload", "field"), [("poem", "x", "kind"), ("text", 5, "text"),
                                                        ("plan", "x", "plan"), ("export", 3, "export"),
                                                        ("text", "a\x00b", "text")])
def test_bad_input_names_its_field(kind, payload, field):
    with pytest.raises(ScanError) as raised:
        scan(kind, payload)
    assert raised.value.field == field


def test_the_api_scans_for_any_role(acme, megamart):
    response = api_client_for(acme, username="acme-viewer").post(
        "/api/v1/governance/scan", {"kind": "text", "text": "The #1 cereal in America", "retailer": "megamart",
                                    "placement": "search"}, format="json")
    bad = api_client_for(acme, username="acme-viewer").post("/api/v1/governance/scan", {"kind": "text", "k": 1},
                                                            format="json")

    assert response.status_code == 200 and not response.json()["passed"]
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "k"
